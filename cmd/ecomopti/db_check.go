package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// runDBCheck checks the database and the artifact files it lists. It
// returns an error, so exit code 1, when it finds any problem.
func runDBCheck(args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs, df := newDBFlagSet("check", `Usage: ecomopti db check [flags]

Run bbolt's page consistency check, then check the records: every job
decodes and has a valid status and transition history, every artifact
file exists below the data directory with its recorded size and SHA-256,
and the latest-run pointer names a completed job with artifacts for all
four phases. Prints the problems and exits with code 1 when there are any.`, getenv, stderr)
	noFiles := fs.Bool("no-files", false, "skip the artifact files, for a copy inspected away from its data directory")
	rest, err := parseDBFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("db check takes no arguments, got %q", rest)
	}

	st, err := df.open()
	if err != nil {
		return err
	}
	defer closeStore(st, &err)
	opts := store.CheckOptions{Phases: pipeline.PhaseOptimize}
	if !*noFiles {
		dataDir := df.DataDir
		opts.VerifyArtifact = func(a jobs.Artifact) error { return pipeline.Verify(dataDir, a) }
	}
	rep, err := st.Check(opts)
	if err != nil {
		return err
	}
	writeCheckReport(stdout, st.Path(), rep, *noFiles)
	if !rep.OK() {
		return fmt.Errorf("check found %s in %s", plural(len(rep.Problems), "problem"), st.Path())
	}
	return nil
}

func writeCheckReport(w io.Writer, path string, rep *store.CheckReport, noFiles bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	fmt.Fprintf(w, "database   %s (schema version %d)\n", abs, rep.SchemaVersion)

	total := 0
	var parts []string
	for _, s := range jobs.Statuses {
		if n := rep.Jobs[s]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if total == 0 {
		fmt.Fprintln(w, "jobs       0")
	} else {
		fmt.Fprintf(w, "jobs       %d (%s)\n", total, strings.Join(parts, ", "))
	}
	if noFiles {
		fmt.Fprintf(w, "artifacts  %d records, files not checked\n", rep.Artifacts)
	} else {
		fmt.Fprintf(w, "artifacts  %d records, %d files match size and SHA-256\n", rep.Artifacts, rep.ArtifactsVerified)
	}

	fmt.Fprintf(w, "log tails  %d\n", rep.LogTails)
	fmt.Fprintf(w, "deleted    %d jobs recorded as deleted by retention\n", rep.Pruned)
	latest := rep.Latest
	if latest == "" {
		latest = "none"
	}
	fmt.Fprintf(w, "latest run %s\n", latest)
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}

	if rep.OK() {
		fmt.Fprintln(w, "ok: no problems found")
		return
	}
	fmt.Fprintf(w, "%s:\n", plural(len(rep.Problems), "problem"))
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}

// plural returns "1 problem" or "n problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
