package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ecomopti/ecomopti"
	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/store"
)

// serveConfig is everything "ecomopti serve" reads from flags and the
// environment.
type serveConfig struct {
	Host        string
	Port        int
	LogLevel    string
	DataDir     string
	Input       string
	Workers     int
	OnInterrupt jobs.RescueMode
	MaxAttempts int
	Timeout     time.Duration // optimize time limit
	Shutdown    time.Duration // grace period at shutdown
	KeepJobs    int           // retention: newest final jobs kept, 0 for no count limit
	KeepDays    int           // retention: days a final job is kept, 0 for no age limit
	JobProcess  string        // child or inline
	ChildNice   int           // niceness of pipeline child processes

	// HTTP server timeouts; see net/http.Server.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration // 0 means Timeout + 30 s
	IdleTimeout       time.Duration

	APIKey      string   // from ECOMOPTI_API_KEY only, so it never shows in ps
	CORSOrigins []string // from ECOMOPTI_CORS_ORIGINS
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Host, "host", envOr(getenv, "API_HOST", "127.0.0.1"), "address to listen on (env API_HOST)")
	port := fs.String("port", envOr(getenv, "API_PORT", "8000"), "TCP port to listen on, 0 for any free port (env API_PORT)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "LOG_LEVEL", "info"), "log level: debug, info, warn or error (env LOG_LEVEL)")
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, "ECOMOPTI_DATA_DIR", "./ecomopti-data"),
		"folder for the database, logs/ and runs/ (env ECOMOPTI_DATA_DIR)")
	fs.StringVar(&c.Input, "input", getenv("ECOMOPTI_INPUT"),
		"customer CSV with the Telco schema (env ECOMOPTI_INPUT); empty uses the built-in synthetic sample")
	fs.IntVar(&c.Workers, "workers", 1, "pipeline jobs run at once")
	onInterrupt := fs.String("on-interrupt", string(jobs.RescueResume),
		"what start-up does with a job a stop interrupted: resume (queue it again) or mark (leave it interrupted)")
	fs.IntVar(&c.MaxAttempts, "max-attempts", jobs.DefaultMaxAttempts, "times a job may start before an interruption fails it")
	fs.DurationVar(&c.Timeout, "optimize-timeout", 30*time.Second, "time limit of one POST /phase4/optimize call")
	fs.DurationVar(&c.Shutdown, "shutdown-timeout", 10*time.Second, "time allowed for requests and the running phase to stop at shutdown")
	fs.IntVar(&c.KeepJobs, "keep-jobs", DefaultKeepJobs,
		"finished jobs (completed, failed, canceled) kept with their logs and run folders; older ones are deleted; 0 keeps all")
	fs.IntVar(&c.KeepDays, "keep-days", 0, "delete finished jobs older than this many days; 0 turns the age limit off")
	fs.StringVar(&c.JobProcess, "job-process", jobProcessChild,
		"where pipeline jobs run: child (a separate process at lower CPU priority, so requests keep their latency) or inline (in the server process)")
	fs.IntVar(&c.ChildNice, "child-nice", pipeline.DefaultChildNice,
		"niceness of pipeline child processes, 0 (server priority) to 19 (lowest); Linux only")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time allowed to read a request's headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 30*time.Second, "time allowed to read a whole request, body included")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 0, "time allowed from the end of the request headers to the end of the response; 0 means the optimize timeout plus 30s")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 120*time.Second, "time a keep-alive connection may stay idle")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ecomopti serve [flags]\n\nStart the HTTP API and the job worker.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), serveEnvHelp)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return c, usagef("serve takes no arguments, got %q", fs.Args())
	}
	p, err := strconv.Atoi(*port)
	if err != nil || p < 0 || p > 65535 {
		return c, usagef("invalid port %q: use a number from 0 to 65535", *port)
	}
	c.Port = p
	c.OnInterrupt = jobs.RescueMode(*onInterrupt)
	if c.OnInterrupt != jobs.RescueResume && c.OnInterrupt != jobs.RescueMark {
		return c, usagef("invalid --on-interrupt %q: use resume or mark", *onInterrupt)
	}
	if c.Workers < 1 || c.MaxAttempts < 1 || c.Timeout <= 0 || c.Shutdown <= 0 ||
		c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout < 0 || c.IdleTimeout <= 0 {
		return c, usagef("--workers and --max-attempts must be at least 1, and the timeouts positive")
	}
	if c.JobProcess != jobProcessChild && c.JobProcess != jobProcessInline {
		return c, usagef("invalid --job-process %q: use child or inline", c.JobProcess)
	}
	if c.ChildNice < 0 || c.ChildNice > 19 {
		return c, usagef("invalid --child-nice %d: use 0 to 19", c.ChildNice)
	}
	if c.KeepJobs < 0 || c.KeepDays < 0 {
		return c, usagef("--keep-jobs and --keep-days must be 0 (no limit) or more")
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = c.Timeout + 30*time.Second
	}
	c.APIKey = strings.TrimSpace(getenv("ECOMOPTI_API_KEY"))
	origins, err := httpapi.ParseCORSOrigins(getenv("ECOMOPTI_CORS_ORIGINS"))
	if err != nil {
		return c, usagef("ECOMOPTI_CORS_ORIGINS: %v", err)
	}
	c.CORSOrigins = origins
	return c, nil
}

// Values of --job-process.
const (
	jobProcessChild  = "child"
	jobProcessInline = "inline"
)

// serveEnvHelp lists the settings that only the environment carries.
const serveEnvHelp = `
Environment only:
  ECOMOPTI_API_KEY        when set, every route except /health, /openapi.json and
                          /docs needs the header "Authorization: Bearer <key>"
  ECOMOPTI_CORS_ORIGINS   comma-separated browser origins allowed to call the API,
                          such as https://dash.example.com; * allows any origin
`

// inputFunc returns the input of pipeline runs: the --input file, or the
// embedded synthetic sample.
func inputFunc(path string) pipeline.InputFunc {
	if path == "" {
		return func() (prepare.Input, error) {
			return prepare.Input{Path: "embedded:telco_sample.csv", Data: ecomopti.SampleCSV}, nil
		}
	}
	return pipeline.FileInput(path)
}

// jobRunner returns the function that runs pipeline jobs: in a child
// process of this binary, or in the server process with --job-process
// inline. Children always use the default phase settings, as pcfg is here.
func jobRunner(cfg serveConfig, dataDir string, pcfg pipeline.Config, st *store.Store, log *slog.Logger) (jobs.RunFunc, error) {
	if cfg.JobProcess == jobProcessInline {
		return pipeline.JobFunc(dataDir, inputFunc(cfg.Input), pcfg, st), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the ecomopti binary for pipeline child processes: %w (use --job-process inline)", err)
	}
	input := pipeline.EmbeddedInput
	if cfg.Input != "" {
		if input, err = filepath.Abs(cfg.Input); err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.TrimSpace(cfg.LogLevel))); err != nil {
		return nil, usagef("invalid LOG_LEVEL %q: use debug, info, warn or error", cfg.LogLevel)
	}
	log.Info("pipeline jobs run in child processes", "executable", exe, "nice", cfg.ChildNice)
	return pipeline.ChildJobFunc(dataDir, pipeline.ChildConfig{
		Executable: exe,
		Args:       []string{execPhasesCommand},
		Input:      input,
		Nice:       cfg.ChildNice,
		// Half the shutdown grace, so a child that ignores SIGTERM is
		// killed before the server gives up waiting for its worker.
		Grace:    min(5*time.Second, cfg.Shutdown/2),
		LogLevel: level,
	}, st), nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.LogLevel)
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
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	counts, err := jobs.Rescue(st, cfg.OnInterrupt, cfg.MaxAttempts, time.Now(), log)
	if err != nil {
		return err
	}
	if counts != (jobs.RescueCounts{}) {
		log.Info("start-up rescue", "interrupted", counts.Interrupted, "resumed", counts.Resumed, "failed", counts.Failed)
	}
	policy := jobs.RetentionPolicy{KeepJobs: cfg.KeepJobs, MaxAge: time.Duration(cfg.KeepDays) * 24 * time.Hour}
	pruneAfterJob := startRetention(st, policy, dataDir, log)

	pcfg := pipeline.DefaultConfig()
	workerCtx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	metrics := httpapi.NewMetrics(st, st.Path(), Version)
	runJob, err := jobRunner(cfg, dataDir, pcfg, st, log)
	if err != nil {
		return err
	}
	worker := jobs.NewWorker(st, runJob,
		jobs.WorkerConfig{Workers: cfg.Workers, DataDir: dataDir, OnPhaseDone: metrics.ObservePhase, OnFinished: pruneAfterJob}, log)
	optimizer := pipeline.NewOptimizer(st, dataDir, pcfg.Optimize, log)
	api := httpapi.New(st, worker, optimizer, httpapi.Config{
		DataDir:         dataDir,
		Version:         Version,
		OptimizeTimeout: cfg.Timeout,
		APIKey:          cfg.APIKey,
		CORSOrigins:     cfg.CORSOrigins,
		Metrics:         metrics,
		Backup:          st,
	}, log)

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	worker.Start(workerCtx)
	input := cfg.Input
	if input == "" {
		input = "embedded synthetic sample"
	}
	log.Info("server started", "addr", "http://"+ln.Addr().String(), "data_dir", dataDir, "input", input, "version", Version,
		"api_key_required", cfg.APIKey != "", "cors_origins", strings.Join(cfg.CORSOrigins, ","))
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopWorkers()
		worker.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	// Stop taking requests, then stop the running phase at its next safe
	// point; the worker records the job as interrupted before exiting.
	log.Info("shutting down", "grace", cfg.Shutdown.String())
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	// Campaign records are written in batches; save those still queued
	// before the store closes.
	optimizer.FlushCampaigns()
	stopWorkers()
	done := make(chan struct{})
	go func() { worker.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutCtx.Done():
		log.Error("running job did not stop within the grace period; its record stays running and start-up will rescue it")
	}
	log.Info("server stopped")
	return nil
}
