package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/store"
)

// jobDetail is the JSON form of "db show --json".
type jobDetail struct {
	Job       *jobs.Job       `json:"job"`
	Latest    bool            `json:"latest_completed_run"`
	Artifacts []jobs.Artifact `json:"artifacts"`
	LogTail   string          `json:"log_tail"`
}

// runDBShow prints one job in full.
func runDBShow(args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs, df := newDBFlagSet("show", "Usage: ecomopti db show ID [flags]\n\nPrint one job with its transitions, artifacts and stored log tail.\nID may be a unique prefix of the job id.", getenv, stderr)
	asJSON := fs.Bool("json", false, "print the job, its artifacts and its log tail as one JSON object")
	logLines := fs.Int("log-lines", 20, "print the last N lines of the stored log tail; 0 prints none")
	rest, err := parseDBFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("db show takes one job id, got %d arguments", len(rest))
	}
	if *logLines < 0 {
		return usagef("invalid --log-lines %d: use 0 or more", *logLines)
	}

	st, err := df.open()
	if err != nil {
		return err
	}
	defer closeStore(st, &err)
	j, err := findJob(st, rest[0])
	if err != nil {
		return err
	}
	d := jobDetail{Job: j}
	if latest, err := st.Latest(); err == nil {
		d.Latest = latest.ID == j.ID
	} else if !errors.Is(err, jobs.ErrNoCompletedRun) {
		return fmt.Errorf("read latest run: %w", err)
	}
	if d.Artifacts, err = st.Artifacts(j.ID); err != nil {
		return fmt.Errorf("read artifacts: %w", err)
	}
	if d.LogTail, err = st.LogTail(j.ID); err != nil {
		return fmt.Errorf("read log tail: %w", err)
	}
	if d.Artifacts == nil {
		d.Artifacts = []jobs.Artifact{}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return writeJobDetail(stdout, d, *logLines)
}

// findJob looks a job up by its id or by a prefix that matches one id.
func findJob(st *store.Store, id string) (*jobs.Job, error) {
	j, err := st.Job(id)
	if err == nil || !errors.Is(err, jobs.ErrNotFound) {
		return j, err
	}
	if _, perr := st.Pruned(id); perr == nil || id == "" {
		return nil, err // the message includes when retention deleted it
	}
	all, lerr := st.Jobs(jobs.JobFilter{})
	if lerr != nil {
		return nil, fmt.Errorf("list jobs: %w", lerr)
	}
	var matches []*jobs.Job
	for _, c := range all {
		if strings.HasPrefix(c.ID, id) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("%w; 'ecomopti db jobs' lists the ids", err)
	case 1:
		return matches[0], nil
	}
	ids := make([]string, 0, 5)
	for _, c := range matches[:min(len(matches), 5)] {
		ids = append(ids, c.ID)
	}
	return nil, fmt.Errorf("id prefix %q matches %d jobs (%s); give more characters", id, len(matches), strings.Join(ids, ", "))
}

func writeJobDetail(w io.Writer, d jobDetail, logLines int) error {
	j := d.Job
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	status := string(j.Status)
	if d.Latest {
		status += " (latest completed run)"
	}
	fmt.Fprintf(tw, "job\t%s\n", j.ID)
	fmt.Fprintf(tw, "status\t%s\n", status)
	fmt.Fprintf(tw, "params\tsplit=%s model=%s budget=%.2f run_sweep=%t run_scenarios=%t\n",
		j.Params.Split, j.Params.Model, j.Params.Budget, j.Params.RunSweep, j.Params.RunScenarios)
	fmt.Fprintf(tw, "phase\t%d %s, progress %.0f%%, phases done %d\n", j.Phase, j.PhaseName, 100*j.Progress, j.PhasesDone)
	fmt.Fprintf(tw, "attempts\t%d\n", j.Attempts)
	fmt.Fprintf(tw, "created\t%s\n", formatTime(&j.CreatedAt))
	fmt.Fprintf(tw, "started\t%s\n", formatTime(j.StartedAt))
	fmt.Fprintf(tw, "finished\t%s\n", formatTime(j.FinishedAt))
	fmt.Fprintf(tw, "updated\t%s\n", formatTime(&j.UpdatedAt))
	if j.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", oneLine(j.Error))
	}
	fmt.Fprintf(tw, "run folder\t%s\n", j.RunDir)
	fmt.Fprintf(tw, "log file\t%s\n", j.LogFile)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nTransitions (%d, times in UTC):\n", len(j.Transitions))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tFROM\tTO\tREASON")
	for _, t := range j.Transitions {
		from := string(t.From)
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", formatTime(&t.At), from, t.To, oneLine(t.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nArtifacts (%d):\n", len(d.Artifacts))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PHASE\tBYTES\tSHA-256\tPATH")
	for _, a := range d.Artifacts {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\n", a.Phase, a.Size, a.SHA256, a.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if logLines == 0 {
		return nil
	}
	lines := strings.Split(strings.TrimRight(d.LogTail, "\n"), "\n")
	if d.LogTail == "" {
		lines = nil
	}
	if len(lines) > logLines {
		lines = lines[len(lines)-logLines:]
	}
	fmt.Fprintf(w, "\nLog tail (last %d lines of the %d bytes stored):\n", len(lines), len(d.LogTail))
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
	return nil
}
