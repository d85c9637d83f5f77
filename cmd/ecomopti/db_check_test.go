package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDBCheckPasses(t *testing.T) {
	f := newDBFixture(t)
	code, stdout, stderr := runCLI(t, "db", "check", "--data-dir", f.dir)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"(schema version 2)",
		"jobs       3 (queued 1, completed 1, failed 1)",
		"artifacts  4 records, 4 files match size and SHA-256",
		"latest run " + f.done.ID,
		"ok: no problems found",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestDBCheckReportsChangedArtifact(t *testing.T) {
	f := newDBFixture(t)
	changed := filepath.Join(f.dir, f.doneArts[2].Path)
	if err := os.WriteFile(changed, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "db", "check", "--data-dir", f.dir)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stdout, "1 problem:") || !strings.Contains(stdout, f.doneArts[2].Path) ||
		!strings.Contains(stdout, "(latest completed run)") {
		t.Errorf("report does not list the changed artifact:\n%s", stdout)
	}
	if !strings.Contains(stderr, "check found 1 problem in") {
		t.Errorf("stderr %q", stderr)
	}

	// Without the files, the records alone are consistent.
	code, stdout, _ = runCLI(t, "db", "check", "--data-dir", f.dir, "--no-files")
	if code != exitOK || !strings.Contains(stdout, "files not checked") {
		t.Errorf("--no-files: exit %d\n%s", code, stdout)
	}
}
