package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// runDBBackup writes a consistent copy of the database and checks it.
func runDBBackup(args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs, df := newDBFlagSet("backup", `Usage: ecomopti db backup --out FILE [flags]

Write a consistent copy of the database file to FILE (through a temporary
file that is synced and renamed), then open the copy and run the record
checks on it. The copy holds the database only: logs/ and runs/ stay in
the data directory.

The copy needs a shared lock on the file, and a running server holds an
exclusive lock for as long as it runs. While a server runs, download the
copy from it instead:
  curl -o FILE http://127.0.0.1:8000/admin/backup
(add -H "Authorization: Bearer $ECOMOPTI_API_KEY" when the server has a key).`, getenv, stderr)
	out := fs.String("out", "", "file to write the copy to (required)")
	force := fs.Bool("force", false, "replace FILE when it exists")
	rest, err := parseDBFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("db backup takes no arguments, got %q", rest)
	}
	if strings.TrimSpace(*out) == "" {
		return usagef("db backup needs --out FILE")
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists: pass --force to replace it", *out)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}

	st, err := df.open()
	if err != nil {
		return err
	}
	n, err := st.BackupFile(*out)
	closeStore(st, &err)
	if err != nil {
		return err
	}
	rep, err := checkCopy(*out)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("the copy %s has %d problems, first: %s", *out, len(rep.Problems), rep.Problems[0])
	}
	total := 0
	for _, c := range rep.Jobs {
		total += c
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes, schema version %d, %d jobs; the copy passes the record checks\n",
		*out, n, rep.SchemaVersion, total)
	return nil
}

// checkCopy opens a backup read-only and checks its records. The files
// it lists are not part of the copy, so they are not checked.
func checkCopy(path string) (rep *store.CheckReport, err error) {
	c, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open the copy: %w", err)
	}
	defer closeStore(c, &err)
	return c.Check(store.CheckOptions{Phases: pipeline.PhaseOptimize})
}
