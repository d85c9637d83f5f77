package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds on the flags, so a typo cannot start an unbounded run.
const (
	maxRequests    = 1_000_000
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
)

// Exit codes: 0 when every request got its expected status, 1 when any
// failed or the run could not start, 2 for a usage error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Request kinds, in report order.
const (
	kindHealth   = "health"
	kindStatus   = "status"
	kindOptimize = "optimize"
	kindRun      = "run"
)

var kinds = []string{kindHealth, kindStatus, kindOptimize, kindRun}

// config is the parsed command line.
type config struct {
	URL         *url.URL
	Requests    int
	Concurrency int
	Rate        float64 // requests per second in total; 0 sends as fast as the concurrency allows
	Duration    time.Duration
	Mix         map[string]int // weight per kind
	Budgets     int            // distinct optimize budgets; 0 draws a new one per request
	BudgetMin   float64        // dollars
	BudgetMax   float64        // dollars
	Split       string
	Model       string
	RunBudget   float64 // dollars, the budget of every run request
	APIKey      string
	Seed        uint64
	JSON        bool
}

const help = `Usage: ecomoload [flags]

Send a bounded mix of requests to an ecomopti server on this machine and
report throughput, p50/p90/p99 latency and errors per request kind:
  health    GET /health
  status    GET /pipeline/status/{id} of the latest completed job
  optimize  POST /phase4/optimize with budgets drawn from --budgets values
  run       POST /pipeline/run with a fixed body (identical requests share
            one job while it is queued or running)
The server needs a completed pipeline run. Only loopback hosts are allowed.
The exit code is 1 when any request failed.

Flags:
`

func parse(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("ecomoload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "http://127.0.0.1:8000", "base URL of the server; the host must be a loopback address")
	fs.IntVar(&c.Requests, "requests", 10000, fmt.Sprintf("requests to send in total (at most %d)", maxRequests))
	fs.IntVar(&c.Concurrency, "concurrency", 32, fmt.Sprintf("requests in flight at once (at most %d)", maxConcurrency))
	fs.Float64Var(&c.Rate, "rate", 0, "requests per second to schedule in total; 0 sends each request as soon as a connection is free. "+
		"With a rate, latency is measured from the scheduled time, so a server that falls behind is not flattered")
	fs.DurationVar(&c.Duration, "duration", 2*time.Minute, fmt.Sprintf("time limit of the run (at most %s); it stops early when reached", maxDuration))
	mix := fs.String("mix", "health=10,status=10,optimize=75,run=5", "relative weights of the request kinds")
	fs.IntVar(&c.Budgets, "budgets", 200, "distinct optimize budgets, evenly spaced from --budget-min to --budget-max; 0 draws a fresh budget in cents for every request")
	fs.Float64Var(&c.BudgetMin, "budget-min", 100, "smallest optimize budget in dollars")
	fs.Float64Var(&c.BudgetMax, "budget-max", 20000, "largest optimize budget in dollars")
	fs.StringVar(&c.Split, "split", "test", "split of optimize and run requests")
	fs.StringVar(&c.Model, "model", "ensemble", "model of optimize and run requests")
	fs.Float64Var(&c.RunBudget, "run-budget", 2500, "budget in dollars of run requests")
	keyEnv := fs.String("api-key-env", "ECOMOPTI_API_KEY", "environment variable holding the API key, sent as a bearer token when set")
	seed := fs.Uint64("seed", 1, "seed of the request mix and budgets")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("ecomoload takes no arguments, got %q", fs.Args())
	}
	u, err := loopbackURL(*rawURL)
	if err != nil {
		return nil, err
	}
	c.URL = u
	if c.Requests < 1 || c.Requests > maxRequests {
		return nil, fmt.Errorf("invalid --requests %d: use 1 to %d", c.Requests, maxRequests)
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		return nil, fmt.Errorf("invalid --concurrency %d: use 1 to %d", c.Concurrency, maxConcurrency)
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return nil, fmt.Errorf("invalid --rate %v: use 0 or a positive number of requests per second", c.Rate)
	}
	if c.Duration <= 0 || c.Duration > maxDuration {
		return nil, fmt.Errorf("invalid --duration %s: use more than 0 and at most %s", c.Duration, maxDuration)
	}
	if c.Mix, err = parseMix(*mix); err != nil {
		return nil, err
	}
	if c.Budgets < 0 || !(c.BudgetMin > 0) || !(c.BudgetMax >= c.BudgetMin) || c.BudgetMax > 1e9 {
		return nil, fmt.Errorf("invalid budgets: --budgets must be 0 or more and 0 < --budget-min <= --budget-max <= 1e9")
	}
	if math.IsNaN(c.RunBudget) || math.IsInf(c.RunBudget, 0) {
		return nil, fmt.Errorf("invalid --run-budget %v: use a finite number of dollars", c.RunBudget)
	}
	c.APIKey = strings.TrimSpace(getenv(*keyEnv))
	c.Seed = *seed
	return c, nil
}

// loopbackURL parses raw and rejects every host that is not a loopback
// address. "localhost" is accepted and dialled as 127.0.0.1 without a
// name lookup.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --url %q: use http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
		if u.Port() == "" {
			u.Host = "127.0.0.1"
		}
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("rejected host %q: ecomoload only sends to loopback addresses (127.0.0.0/8, ::1, localhost)", host)
	}
	return u, nil
}

// parseMix reads "kind=weight,..." into weights; kinds left out get 0.
func parseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 || !slices.Contains(kinds, name) {
			return nil, fmt.Errorf("invalid --mix entry %q: use kind=weight with kinds %s", part, strings.Join(kinds, ", "))
		}
		mix[name] = n
		total += n
	}
	if total == 0 {
		return nil, errors.New("invalid --mix: the weights add up to 0")
	}
	return mix, nil
}

// dialLoopback is the transport's dialer: it connects only to loopback
// addresses, so no redirect or proxy setting can send traffic elsewhere.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("rejected dial to %s: not a loopback address", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func newClient(concurrency int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialLoopback,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     30 * time.Second,
		},
		Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed")
		},
	}
}

// sample is the outcome of one request.
type sample struct {
	kind    string
	latency time.Duration
	status  int // 0 when the request failed before a response
	err     string
}

// loader sends the requests of one run.
type loader struct {
	cfg     *config
	client  *http.Client
	jobID   string    // for status requests
	budgets []float64 // optimize budgets, empty when drawn per request
	weights []int     // cumulative weights in kinds order

	// The URLs and bodies that do not change between requests are built
	// once, so the tool spends less of the CPU it shares with the server.
	healthURL, statusURL, optimizeURL, runURL string
	runBody                                   []byte
	optimizeBodies                            [][]byte // by index into budgets
}

func newLoader(cfg *config) *loader {
	l := &loader{cfg: cfg, client: newClient(cfg.Concurrency)}
	sum := 0
	for _, k := range kinds {
		sum += cfg.Mix[k]
		l.weights = append(l.weights, sum)
	}
	for i := range cfg.Budgets {
		b := cfg.BudgetMin
		if cfg.Budgets > 1 {
			b += (cfg.BudgetMax - cfg.BudgetMin) * float64(i) / float64(cfg.Budgets-1)
		}
		l.budgets = append(l.budgets, math.Round(b))
		l.optimizeBodies = append(l.optimizeBodies, l.optimizeBody(l.budgets[i]))
	}
	l.healthURL = cfg.URL.JoinPath("/health").String()
	l.optimizeURL = cfg.URL.JoinPath("/phase4/optimize").String()
	l.runURL = cfg.URL.JoinPath("/pipeline/run").String()
	l.runBody = mustJSON(map[string]any{"split": cfg.Split, "model": cfg.Model, "budget": cfg.RunBudget})
	return l
}

// optimizeBody returns the body of an optimize request.
func (l *loader) optimizeBody(budget float64) []byte {
	return mustJSON(map[string]any{"split": l.cfg.Split, "model": l.cfg.Model, "budget": budget})
}

// mustJSON encodes a request body of strings and numbers. parse rejects
// budgets that are not finite, the only values json.Marshal fails on here.
func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ecomoload: encode request body: %v", err))
	}
	return raw
}

// newRequest builds a request to url; a nil body sends none.
func (l *loader) newRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if l.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+l.cfg.APIKey)
	}
	return req, nil
}

// findJob sets the job id of status requests: the latest completed job.
func (l *loader) findJob(ctx context.Context) error {
	req, err := l.newRequest(ctx, "GET", l.cfg.URL.JoinPath("/pipeline/jobs").String(), nil)
	if err != nil {
		return err
	}
	req.URL.RawQuery = "status=completed&limit=1"
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("list jobs: status %d: %s", resp.StatusCode, raw)
	}
	var list struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	if len(list.Jobs) == 0 {
		return errors.New("the server has no completed pipeline run: start one with POST /pipeline/run and wait for it")
	}
	l.jobID = list.Jobs[0].ID
	l.statusURL = l.cfg.URL.JoinPath("/pipeline/status/" + l.jobID).String()
	return nil
}

// pick chooses the kind and the optimize budget of request i. Each request
// has its own random stream, so the mix does not depend on scheduling.
// budgetIndex is the budget's index into l.budgets, or -1 when the budget
// was drawn for this request.
func (l *loader) pick(i int) (kind string, budget float64, budgetIndex int) {
	rng := rand.New(rand.NewPCG(l.cfg.Seed, uint64(i)))
	r := rng.IntN(l.weights[len(l.weights)-1])
	kind = kinds[sort.SearchInts(l.weights, r+1)]
	if len(l.budgets) > 0 {
		budgetIndex = rng.IntN(len(l.budgets))
		return kind, l.budgets[budgetIndex], budgetIndex
	}
	cents := l.cfg.BudgetMin*100 + rng.Float64()*(l.cfg.BudgetMax-l.cfg.BudgetMin)*100
	return kind, math.Round(cents) / 100, -1
}

// send runs request i and measures it from start, the scheduled time.
func (l *loader) send(ctx context.Context, i int, start time.Time) sample {
	kind, budget, budgetIndex := l.pick(i)
	var req *http.Request
	var err error
	want := http.StatusOK
	switch kind {
	case kindHealth:
		req, err = l.newRequest(ctx, "GET", l.healthURL, nil)
	case kindStatus:
		req, err = l.newRequest(ctx, "GET", l.statusURL, nil)
	case kindOptimize:
		var body []byte
		if budgetIndex >= 0 {
			body = l.optimizeBodies[budgetIndex]
		} else {
			body = l.optimizeBody(budget)
		}
		req, err = l.newRequest(ctx, "POST", l.optimizeURL, body)
	case kindRun:
		want = http.StatusAccepted
		req, err = l.newRequest(ctx, "POST", l.runURL, l.runBody)
	}
	if err != nil {
		return sample{kind: kind, err: err.Error()}
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return sample{kind: kind, latency: time.Since(start), err: err.Error()}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s := sample{kind: kind, latency: time.Since(start), status: resp.StatusCode}
	switch {
	case err != nil:
		s.err = "read body: " + err.Error()
	case resp.StatusCode != want:
		s.err = fmt.Sprintf("status %d, want %d", resp.StatusCode, want)
	}
	return s
}

// run sends the requests from cfg.Concurrency goroutines until all are
// sent or the time limit passes, and returns the samples and wall time.
func (l *loader) run(ctx context.Context) ([]sample, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Duration)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	samples := make([]sample, 0, l.cfg.Requests)
	var wg sync.WaitGroup
	start := time.Now()
	for range l.cfg.Concurrency {
		wg.Go(func() {
			var local []sample
		loop:
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= l.cfg.Requests {
					break loop
				}
				at := time.Now()
				if l.cfg.Rate > 0 {
					at = start.Add(time.Duration(float64(i) / l.cfg.Rate * float64(time.Second)))
					if wait := time.Until(at); wait > 0 {
						select {
						case <-ctx.Done():
							break loop
						case <-time.After(wait):
						}
					}
				}
				s := l.send(ctx, i, at)
				if ctx.Err() != nil && s.err != "" {
					break loop // cut off by the time limit, not a server error
				}
				local = append(local, s)
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return samples, time.Since(start)
}
