package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// kindReport summarises the requests of one kind. Latencies are in
// milliseconds; a percentile is the nearest-rank value.
type kindReport struct {
	Kind       string         `json:"kind"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	PerSecond  float64        `json:"per_second"`
	P50MS      float64        `json:"p50_ms"`
	P90MS      float64        `json:"p90_ms"`
	P99MS      float64        `json:"p99_ms"`
	MaxMS      float64        `json:"max_ms"`
	Statuses   map[string]int `json:"statuses"`
	FirstError string         `json:"first_error,omitempty"`
}

// report is the outcome of a run.
type report struct {
	URL         string       `json:"url"`
	Requests    int          `json:"requests"`
	Errors      int          `json:"errors"`
	Concurrency int          `json:"concurrency"`
	WallSeconds float64      `json:"wall_seconds"`
	PerSecond   float64      `json:"per_second"`
	Budgets     int          `json:"distinct_budgets"`
	Kinds       []kindReport `json:"kinds"`
	All         kindReport   `json:"all"`
}

// percentile returns the nearest-rank p-th percentile of sorted values.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return ms(sorted[rank-1])
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

func summarise(kind string, samples []sample, wall time.Duration) kindReport {
	r := kindReport{Kind: kind, Statuses: map[string]int{}}
	lat := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		if kind != "all" && s.kind != kind {
			continue
		}
		r.Requests++
		lat = append(lat, s.latency)
		code := "error"
		if s.status != 0 {
			code = fmt.Sprint(s.status)
		}
		r.Statuses[code]++
		if s.err != "" {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = s.err
			}
		}
	}
	slices.Sort(lat)
	if wall > 0 {
		r.PerSecond = math.Round(float64(r.Requests)/wall.Seconds()*10) / 10
	}
	r.P50MS = percentile(lat, 50)
	r.P90MS = percentile(lat, 90)
	r.P99MS = percentile(lat, 99)
	if len(lat) > 0 {
		r.MaxMS = ms(lat[len(lat)-1])
	}
	return r
}

func buildReport(cfg *config, samples []sample, wall time.Duration) report {
	rep := report{URL: cfg.URL.String(), Concurrency: cfg.Concurrency, WallSeconds: math.Round(wall.Seconds()*1000) / 1000,
		Budgets: cfg.Budgets}
	for _, k := range kinds {
		if cfg.Mix[k] > 0 {
			rep.Kinds = append(rep.Kinds, summarise(k, samples, wall))
		}
	}
	rep.All = summarise("all", samples, wall)
	rep.Requests, rep.Errors, rep.PerSecond = rep.All.Requests, rep.All.Errors, rep.All.PerSecond
	return rep
}

func printReport(w io.Writer, rep report) {
	budgets := fmt.Sprintf("%d distinct optimize budgets", rep.Budgets)
	if rep.Budgets == 0 {
		budgets = "a fresh optimize budget per request"
	}
	fmt.Fprintf(w, "%d requests to %s in %.2fs at concurrency %d (%s): %.1f requests/s, %d errors\n\n",
		rep.Requests, rep.URL, rep.WallSeconds, rep.Concurrency, budgets, rep.PerSecond, rep.Errors)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tstatuses\t")
	for _, k := range append(rep.Kinds, rep.All) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n",
			k.Kind, k.Requests, k.Errors, k.PerSecond, k.P50MS, k.P90MS, k.P99MS, k.MaxMS, formatStatuses(k.Statuses))
	}
	tw.Flush()
	for _, k := range rep.Kinds {
		if k.FirstError != "" {
			fmt.Fprintf(w, "first %s error: %s\n", k.Kind, k.FirstError)
		}
	}
}

func formatStatuses(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// Main runs the load test and returns the exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "ecomoload:", err)
		return exitUsage
	}
	l := newLoader(cfg)
	if cfg.Mix[kindStatus] > 0 {
		if err := l.findJob(ctx); err != nil {
			fmt.Fprintln(stderr, "ecomoload:", err)
			return exitFailure
		}
	}
	samples, wall := l.run(ctx)
	rep := buildReport(cfg, samples, wall)
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "ecomoload:", err)
			return exitFailure
		}
	} else {
		printReport(stdout, rep)
	}
	if rep.Errors > 0 || rep.Requests < cfg.Requests {
		if rep.Requests < cfg.Requests {
			fmt.Fprintf(stderr, "ecomoload: only %d of %d requests were sent within %s\n", rep.Requests, cfg.Requests, cfg.Duration)
		}
		return exitFailure
	}
	return exitOK
}
