package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/store"
)

func TestDBBackupWritesCheckedCopy(t *testing.T) {
	f := newDBFixture(t)
	out := filepath.Join(t.TempDir(), "copy.db")
	code, stdout, stderr := runCLI(t, "db", "backup", "--data-dir", f.dir, "--out", out)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "schema version 2, 3 jobs") || !strings.Contains(stdout, "passes the record checks") {
		t.Errorf("output %q", stdout)
	}
	c, err := store.Open(out, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.Job(f.done.ID)
	c.Close()
	if err != nil || j.Status != jobs.StatusCompleted {
		t.Fatalf("completed run in the copy = %v, %v", j, err)
	}

	// The copy can be inspected with --db, checking files in the data dir.
	code, stdout, _ = runCLI(t, "db", "check", "--db", out, "--data-dir", f.dir)
	if code != exitOK || !strings.Contains(stdout, "4 files match") {
		t.Errorf("check of the copy: exit %d\n%s", code, stdout)
	}

	// An existing file is kept unless --force.
	code, _, stderr = runCLI(t, "db", "backup", "--data-dir", f.dir, "--out", out)
	if code != exitFailure || !strings.Contains(stderr, "--force") {
		t.Errorf("second backup without --force: exit %d, %q", code, stderr)
	}
	if err := os.WriteFile(out, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "db", "backup", "--data-dir", f.dir, "--out", out, "--force")
	if code != exitOK {
		t.Errorf("backup with --force: exit %d, %q", code, stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() < 4096 {
		t.Errorf("forced copy: %v, %v", fi, err)
	}
}
