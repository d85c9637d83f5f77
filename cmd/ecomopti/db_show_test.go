package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/store"
)

func TestDBShowText(t *testing.T) {
	f := newDBFixture(t)
	code, stdout, stderr := runCLI(t, "db", "show", f.done.ID, "--data-dir", f.dir)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	for _, want := range []string{
		"job         " + f.done.ID,
		"completed (latest completed run)",
		"split=test model=ensemble budget=2500.00",
		"phases done 4",
		"Transitions (3, times in UTC):",
		"submitted",
		"all phases finished",
		"Artifacts (4):",
		f.doneArts[3].SHA256,
		f.doneArts[3].Path,
		`msg="job completed"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestDBShowJSONByPrefix(t *testing.T) {
	f := newDBFixture(t)
	// The last characters of a UUIDv7 are random, so a long prefix is unique.
	prefix := f.failed.ID[:len(f.failed.ID)-4]
	code, stdout, stderr := runCLI(t, "db", "show", "--json", prefix, "--data-dir", f.dir)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var d jobDetail
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatal(err)
	}
	if d.Job.ID != f.failed.ID || d.Latest || d.Job.Error != f.failedReason || len(d.Artifacts) != 0 {
		t.Errorf("detail = %+v", d)
	}
}

func TestDBShowUnknownAndAmbiguous(t *testing.T) {
	f := newDBFixture(t)
	code, _, stderr := runCLI(t, "db", "show", "0000dead-beef", "--data-dir", f.dir)
	if code != exitFailure || !strings.Contains(stderr, "not found") || !strings.Contains(stderr, "db jobs") {
		t.Errorf("unknown id: exit %d, %q", code, stderr)
	}
	// All three ids were made within a second, so they share the
	// leading timestamp digits.
	code, _, stderr = runCLI(t, "db", "show", f.done.ID[:4], "--data-dir", f.dir)
	if code != exitFailure || !strings.Contains(stderr, "matches 3 jobs") {
		t.Errorf("ambiguous prefix: exit %d, %q", code, stderr)
	}
}

func TestDBShowDeletedJob(t *testing.T) {
	f := newDBFixture(t)
	st, err := store.Open(filepath.Join(f.dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteJob(f.failed.ID, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), "retention keeps the newest 1 finished jobs"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, _, stderr := runCLI(t, "db", "show", f.failed.ID, "--data-dir", f.dir)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	for _, want := range []string{"deleted by retention at 2026-06-01", "newest 1 finished jobs"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message %q lacks %q", stderr, want)
		}
	}
}
