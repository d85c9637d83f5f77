package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lmittmann/tint"
)

// Version is the program version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `ecomopti plans retention campaigns: churn risk, customer value, uplift
and budget optimisation, served over HTTP.

Usage:
  ecomopti serve [flags]      start the HTTP API and the job worker
  ecomopti run --split S      run the pipeline in this terminal (no server on the data directory)
  ecomopti optimize --split S plan a campaign on the latest completed run
  ecomopti db SUBCOMMAND      inspect the database offline: jobs, show, dump, check, backup
  ecomopti version            print the version
  ecomopti help               show this help

Run "ecomopti COMMAND -h" for the flags of a command.
`

// Main runs the command line and returns the exit code. Tests call it
// directly with their own environment and output streams.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if args[0] == execPhasesCommand {
		return runExecPhases(ctx, args[1:], stdout, stderr)
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], getenv, stdout, stderr)
	case "run":
		err = runRun(ctx, args[1:], getenv, stdout, stderr)
	case "optimize":
		err = runOptimize(ctx, args[1:], getenv, stdout, stderr)
	case "db":
		err = runDB(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "ecomopti", Version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ecomopti: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "ecomopti:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "ecomopti:", err)
		return exitFailure
	}
}

// usageError is a mistake in the command line; it exits with code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// envOr returns the environment value of key, or def when unset or empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// newLogger builds the process logger: tint with colours on a terminal,
// JSON lines otherwise (journald, files). LOG_LEVEL is debug, info, warn or
// error.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
		return nil, usagef("invalid LOG_LEVEL %q: use debug, info, warn or error", level)
	}
	if isTerminal(w) {
		return slog.New(tint.NewHandler(w, &tint.Options{Level: lvl, TimeFormat: "15:04:05.000"})), nil
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
