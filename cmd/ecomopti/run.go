package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// campaignFlags are the request flags of "run" and "optimize".
type campaignFlags struct {
	Split  string
	Model  string
	Budget float64 // dollars
}

func (c *campaignFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Split, "split", "", "data split to plan the campaign on: train, val or test (required)")
	fs.StringVar(&c.Model, "model", dataset.ModelEnsemble, "uplift model: "+strings.Join(dataset.Models, ", "))
	fs.Float64Var(&c.Budget, "budget", httpapi.DefaultBudget, "campaign budget in dollars, above 0 and at most 1e9")
}

// check validates the values with the same rules as the HTTP API.
func (c *campaignFlags) check() error {
	switch {
	case c.Split == "":
		return usagef("--split is required: use train, val or test")
	case !slices.Contains(dataset.Splits, c.Split):
		return usagef("invalid --split %q: use train, val or test", c.Split)
	case !slices.Contains(dataset.Models, c.Model):
		return usagef("invalid --model %q: use one of %s", c.Model, strings.Join(dataset.Models, ", "))
	case math.IsNaN(c.Budget) || c.Budget <= 0 || c.Budget > httpapi.MaxBudget:
		return usagef("invalid --budget %v: use dollars above 0 and at most %.0f", c.Budget, float64(httpapi.MaxBudget))
	}
	return nil
}

// runConfig is everything "ecomopti run" reads from flags and the
// environment.
type runConfig struct {
	campaignFlags
	Input     string
	DataDir   string
	LogLevel  string
	Sweep     bool
	Scenarios bool
	Progress  string // auto, bar, plain or none
}

const runHelp = `Usage: ecomopti run --split S [flags]

Run the four pipeline phases in this terminal, against the same data
directory and database as "ecomopti serve", so the run appears in the job
history and becomes the latest completed run. The server must not be
running on that data directory: the database file allows one process.

Flags:
`

func parseRun(args []string, getenv func(string) string, stderr io.Writer) (runConfig, error) {
	var c runConfig
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Input, "input", getenv("ECOMOPTI_INPUT"),
		"customer CSV with the Telco schema (env ECOMOPTI_INPUT); empty uses the built-in synthetic sample")
	c.campaignFlags.register(fs)
	fs.BoolVar(&c.Sweep, "sweep", false, "also solve a sweep of budgets")
	fs.BoolVar(&c.Scenarios, "scenarios", false, "also run the cost scenarios")
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, "ECOMOPTI_DATA_DIR", "./ecomopti-data"),
		"folder for the database, logs/ and runs/ (env ECOMOPTI_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "LOG_LEVEL", "info"),
		"level of the log on standard error: debug, info, warn or error (env LOG_LEVEL); with progress bars, info lines are hidden")
	fs.StringVar(&c.Progress, "progress", "auto",
		"progress display: bar (one bar per phase), plain (one line per event), none, or auto (bar on a terminal, plain otherwise)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return c, usagef("run takes no arguments, got %q", fs.Args())
	}
	if err := c.check(); err != nil {
		return c, err
	}
	if !slices.Contains([]string{"auto", "bar", "plain", "none"}, c.Progress) {
		return c, usagef("invalid --progress %q: use auto, bar, plain or none", c.Progress)
	}
	return c, nil
}

// runRun runs one pipeline job to its end in this process. It returns an
// error when the job did not complete, so the exit code is 1.
func runRun(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseRun(args, getenv, stderr)
	if err != nil {
		return err
	}
	mode := cfg.Progress
	if mode == "auto" {
		mode = "plain"
		if isTerminal(stderr) {
			mode = "bar"
		}
	}
	level := cfg.LogLevel
	if mode == "bar" && strings.EqualFold(strings.TrimSpace(level), "info") {
		// Info lines would tear the bars; the job log file keeps them.
		level = "warn"
	}
	log, err := newLogger(stderr, level)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if cfg.Input != "" {
		if _, err := os.Stat(cfg.Input); err != nil {
			return fmt.Errorf("input file: %w", err)
		}
	}
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()

	params := jobs.Params{Split: cfg.Split, Model: cfg.Model, Budget: cfg.Budget, RunSweep: cfg.Sweep, RunScenarios: cfg.Scenarios}
	job, created, err := pipeline.Submit(st, params, time.Now())
	if err != nil {
		return err
	}
	if !created && job.Status != jobs.StatusQueued {
		return fmt.Errorf("an identical job %s is %s in %s; no server runs it now, so start 'ecomopti serve' to rescue it, or cancel it first",
			job.ID, job.Status, dataDir)
	}
	if !created {
		fmt.Fprintf(stdout, "running the identical queued job %s\n", job.ID)
	}

	display := newProgressDisplay(mode, stdout, stderr)
	defer display.close()
	worker := jobs.NewWorker(oneJobStore{Store: st, id: job.ID},
		pipeline.JobFunc(dataDir, inputFunc(cfg.Input), pipeline.DefaultConfig(), st),
		jobs.WorkerConfig{DataDir: dataDir, OnProgress: display.progress, OnPhaseDone: display.phaseDone}, log)
	start := time.Now()
	fmt.Fprintf(stdout, "job %s: %s split, %s model, budget $%.2f; log %s\n",
		job.ID, cfg.Split, cfg.Model, cfg.Budget, jobs.LogPath(dataDir, job.ID))

	final, err := runToEnd(ctx, st, worker, job.ID)
	display.close()
	if err != nil {
		return err
	}
	switch final.Status {
	case jobs.StatusCompleted:
		fmt.Fprintf(stdout, "job %s completed in %s\n", final.ID, time.Since(start).Round(time.Millisecond))
		return printRunResult(stdout, st, dataDir, final)
	case jobs.StatusInterrupted:
		return fmt.Errorf("job %s interrupted; 'ecomopti serve' resumes it after the last finished phase", final.ID)
	case jobs.StatusFailed:
		return fmt.Errorf("job %s failed: %s (full log: %s)", final.ID, final.Error, jobs.LogPath(dataDir, final.ID))
	}
	return fmt.Errorf("job %s ended %s", final.ID, final.Status)
}

// runToEnd starts the worker and waits until the job leaves queued and
// running. When ctx ends first, the worker stops the job, which ends
// interrupted.
func runToEnd(ctx context.Context, st *store.Store, worker *jobs.Worker, id string) (*jobs.Job, error) {
	workerCtx, stop := context.WithCancel(context.Background())
	defer func() {
		stop()
		worker.Wait()
	}()
	worker.Start(workerCtx)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			worker.Wait()
			return st.Job(id)
		case <-tick.C:
		}
		j, err := st.Job(id)
		if err != nil {
			return nil, err
		}
		if !j.Status.Active() {
			return j, nil
		}
	}
}

// errNotQueued stops oneJobStore.ClaimNext from claiming a job that is no
// longer queued.
var errNotQueued = errors.New("job is not queued")

// oneJobStore lets a jobs.Worker claim only one job, so "run" never starts
// jobs that a stopped server left queued; those wait for the server.
type oneJobStore struct {
	jobs.Store
	id string
}

func (s oneJobStore) ClaimNext(at time.Time, reason string) (*jobs.Job, error) {
	j, err := s.Store.UpdateJob(s.id, func(j *jobs.Job) error {
		if j.Status != jobs.StatusQueued {
			return errNotQueued
		}
		return j.TransitionTo(jobs.StatusRunning, at, reason)
	})
	if errors.Is(err, errNotQueued) {
		return nil, nil
	}
	return j, err
}

// printRunResult prints the campaign metrics of a completed run and the
// files of its last phase.
func printRunResult(w io.Writer, st *store.Store, dataDir string, job *jobs.Job) error {
	runDir := filepath.Join(dataDir, job.RunDir)
	raw, err := os.ReadFile(filepath.Join(runDir, pipeline.MetricsFile))
	if err != nil {
		return fmt.Errorf("read run metrics: %w", err)
	}
	var m pipeline.Metrics
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("read run metrics: %w", err)
	}
	fmt.Fprintf(w, "run folder: %s\n", runDir)
	if m.Optimize != nil {
		printCampaign(w, job.Params.Split, job.Params.Model, job.Params.Budget, m.Optimize)
	}
	arts, err := st.Artifacts(job.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "campaign files:")
	for _, a := range arts {
		if a.Phase == pipeline.PhaseOptimize {
			fmt.Fprintf(w, "  %s\n", filepath.Join(dataDir, filepath.FromSlash(a.Path)))
		}
	}
	return nil
}

// printCampaign prints the headline figures of an optimisation.
func printCampaign(w io.Writer, split, model string, budget float64, m *optimize.Metrics) {
	fmt.Fprintf(w, "campaign on %s with %s, budget $%.2f:\n", split, model, budget)
	fmt.Fprintf(w, "  customers selected       %d\n", m.CustomersSelected)
	fmt.Fprintf(w, "  total cost               $%.2f (%.2f%% of the budget)\n", m.TotalCost, m.BudgetUtilisationPct)
	fmt.Fprintf(w, "  incremental CLV impact   $%.2f\n", m.IncrementalCLVImpact)
	fmt.Fprintf(w, "  net value                $%.2f\n", m.NetValue)
	fmt.Fprintf(w, "  ROI                      %.4f\n", m.ROI)
}

// progressDisplay shows job progress: a bar per phase, plain lines, or
// nothing. Its methods match the jobs.WorkerConfig hooks and run on the
// job's goroutine.
type progressDisplay struct {
	mode   string
	out    io.Writer // plain lines
	barOut io.Writer // bars

	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	phase int
}

func newProgressDisplay(mode string, stdout, stderr io.Writer) *progressDisplay {
	return &progressDisplay{mode: mode, out: stdout, barOut: stderr}
}

func (d *progressDisplay) progress(jobID string, phase int, name string, share float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if phase == d.phase {
		return
	}
	d.phase = phase
	switch d.mode {
	case "plain":
		fmt.Fprintf(d.out, "phase %d/4 %s started (%.0f%% done)\n", phase, name, 100*share)
	case "bar":
		d.finishBar()
		d.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(d.barOut),
			progressbar.OptionSetDescription(fmt.Sprintf("phase %d/4 %-8s", phase, name)),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionClearOnFinish(),
		)
	}
}

func (d *progressDisplay) phaseDone(jobID string, phase int, name string, elapsed time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.mode {
	case "plain":
		fmt.Fprintf(d.out, "phase %d/4 %s finished in %s\n", phase, name, elapsed.Round(time.Millisecond))
	case "bar":
		d.finishBar()
		fmt.Fprintf(d.barOut, "phase %d/4 %-8s done in %s\n", phase, name, elapsed.Round(time.Millisecond))
	}
}

// finishBar clears the current bar; d.mu must be held.
func (d *progressDisplay) finishBar() {
	if d.bar != nil {
		d.bar.Finish()
		d.bar = nil
	}
}

func (d *progressDisplay) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finishBar()
}
