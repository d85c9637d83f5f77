package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecomopti/ecomopti/store"
)

const dbUsage = `Usage:
  ecomopti db jobs   [flags]            table of jobs, newest first
  ecomopti db show   ID [flags]         one job: fields, transitions, artifacts, log tail
  ecomopti db dump   [flags]            every bucket as JSON lines
  ecomopti db check  [flags]            consistency check; exit code 1 on any problem
  ecomopti db backup --out FILE [flags] consistent copy of the database file

Every subcommand opens the database read-only and gives up after 1s when
another process holds it. A running server holds it the whole time, so
stop the server first, or download a copy from the server with
  curl -o copy.db http://127.0.0.1:8000/admin/backup
and inspect the copy with --db copy.db.

Run "ecomopti db SUBCOMMAND -h" for the flags of a subcommand.
`

// runDB dispatches "ecomopti db SUBCOMMAND".
func runDB(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dbUsage)
		return usagef("db needs a subcommand: jobs, show, dump, check or backup")
	}
	switch args[0] {
	case "jobs":
		return runDBJobs(args[1:], getenv, stdout, stderr)
	case "show":
		return runDBShow(args[1:], getenv, stdout, stderr)
	case "dump":
		return runDBDump(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return runDBCheck(args[1:], getenv, stdout, stderr)
	case "backup":
		return runDBBackup(args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, dbUsage)
		return nil
	default:
		fmt.Fprint(stderr, dbUsage)
		return usagef("unknown db subcommand %q: use jobs, show, dump, check or backup", args[0])
	}
}

// dbFlags are the flags every db subcommand takes.
type dbFlags struct {
	DataDir string
	DBFile  string
}

// newDBFlagSet returns a flag set for "db name" with --data-dir and --db
// registered. The summary starts its help text.
func newDBFlagSet(name, summary string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *dbFlags) {
	var f dbFlags
	fs := flag.NewFlagSet("db "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.DataDir, "data-dir", envOr(getenv, "ECOMOPTI_DATA_DIR", "./ecomopti-data"),
		"data directory of the server: the database, logs/ and runs/ (env ECOMOPTI_DATA_DIR)")
	fs.StringVar(&f.DBFile, "db", "", "database file to open instead of DATA_DIR/"+store.FileName+", such as a backup copy")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", summary)
		fs.PrintDefaults()
	}
	return fs, &f
}

// parseDBFlags parses args, allowing flags before and after positional
// arguments ("db show ID --data-dir DIR"), and returns the positional ones.
func parseDBFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// path returns the database file the flags name.
func (f *dbFlags) path() string {
	if f.DBFile != "" {
		return f.DBFile
	}
	return filepath.Join(f.DataDir, store.FileName)
}

// open opens the database read-only with the store's lock timeout. A file
// that does not exist gets a message naming the flags to fix.
func (f *dbFlags) open() (*store.Store, error) {
	path := f.path()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no database at %s: pass the server's --data-dir, or --db FILE", path)
	}
	return store.Open(path, store.Options{ReadOnly: true, Timeout: store.OpenTimeout})
}

// closeStore closes a read-only store. A failure there cannot lose data,
// so it only sets *err when nothing else failed.
func closeStore(st *store.Store, err *error) {
	if cerr := st.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close database: %w", cerr)
	}
}

// oneLine replaces line breaks so a value fits in a table cell.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}
