package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// optimizeConfig is everything "ecomopti optimize" reads from flags and the
// environment.
type optimizeConfig struct {
	campaignFlags
	DataDir  string
	LogLevel string
	JSON     bool
	Timeout  time.Duration
}

const optimizeHelp = `Usage: ecomopti optimize --split S [flags]

Plan a campaign on the latest completed pipeline run of the data directory,
as POST /phase4/optimize does, and print its metrics and files. The server
must not be running on that data directory: the database file allows one
process, so use POST /phase4/optimize while it runs.

Flags:
`

func parseOptimize(args []string, getenv func(string) string, stderr io.Writer) (optimizeConfig, error) {
	var c optimizeConfig
	fs := flag.NewFlagSet("optimize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.campaignFlags.register(fs)
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, "ECOMOPTI_DATA_DIR", "./ecomopti-data"),
		"folder for the database, logs/ and runs/ (env ECOMOPTI_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "LOG_LEVEL", "warn"),
		"level of the log on standard error: debug, info, warn or error (env LOG_LEVEL)")
	fs.BoolVar(&c.JSON, "json", false, "print the full result as JSON, the body POST /phase4/optimize returns")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "time limit of the optimisation")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), optimizeHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return c, usagef("optimize takes no arguments, got %q", fs.Args())
	}
	if c.Timeout <= 0 {
		return c, usagef("invalid --timeout %v: use a positive duration such as 30s", c.Timeout)
	}
	return c, c.check()
}

func runOptimize(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseOptimize(args, getenv, stderr)
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
	dbPath := filepath.Join(dataDir, store.FileName)
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no completed pipeline run in %s (no database yet): run 'ecomopti run' or 'ecomopti serve' there first, or pass the right --data-dir", dataDir)
	}
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	opt := pipeline.NewOptimizer(st, dataDir, pipeline.DefaultConfig().Optimize, log)
	res, err := opt.Optimize(ctx, pipeline.OptimizeRequest{Split: cfg.Split, Model: cfg.Model, Budget: cfg.Budget})
	// The campaign record is written in the background; save it before the
	// deferred Close, or it is lost and its writer races the closing store.
	opt.FlushCampaigns()
	switch {
	case errors.Is(err, jobs.ErrNoCompletedRun):
		return fmt.Errorf("no completed pipeline run in %s: run 'ecomopti run --split %s' first", dataDir, cfg.Split)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("optimisation did not finish within %s; raise --timeout", cfg.Timeout)
	case err != nil:
		return err
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "run %s, solver %s (optimal: %v), %.1f ms\n", res.RunID, res.Solver, res.Optimal, res.DurationMS)
	printCampaign(stdout, res.Split, res.Model, res.Budget, res.Detail)
	fmt.Fprintln(stdout, "campaign files:")
	for _, f := range []string{res.Files.CRMExport, res.Files.Report, res.Files.Summary} {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	return nil
}
