package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/jobs"
)

func TestDBJobsTable(t *testing.T) {
	f := newDBFixture(t)
	code, stdout, stderr := runCLI(t, "db", "jobs", "--data-dir", f.dir)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want header, 3 jobs and a count:\n%s", len(lines), stdout)
	}
	if !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "STATUS") {
		t.Errorf("header %q", lines[0])
	}
	// Newest first: queued, failed, completed.
	for i, want := range []struct {
		id     string
		status jobs.Status
	}{{f.queued.ID, jobs.StatusQueued}, {f.failed.ID, jobs.StatusFailed}, {f.done.ID, jobs.StatusCompleted}} {
		line := lines[i+1]
		if !strings.HasPrefix(line, want.id) || !strings.Contains(line, string(want.status)) {
			t.Errorf("line %d = %q, want job %s %s", i+1, line, want.id, want.status)
		}
	}
	if !strings.HasPrefix(lines[3], f.done.ID+" *") {
		t.Errorf("latest run not marked: %q", lines[3])
	}
	if !strings.Contains(lines[3], "100%") || !strings.Contains(lines[3], "4 optimize") {
		t.Errorf("completed line lacks progress or phase: %q", lines[3])
	}
	// The two-line error is flattened into its cell.
	if !strings.Contains(lines[2], "no events in training data") {
		t.Errorf("failed line lacks its error: %q", lines[2])
	}
	if lines[4] != "3 jobs" {
		t.Errorf("count line %q", lines[4])
	}
}

func TestDBJobsFilterAndJSON(t *testing.T) {
	f := newDBFixture(t)
	code, stdout, stderr := runCLI(t, "db", "jobs", "--data-dir", f.dir, "--status", "failed", "--json")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d JSON lines, want 1:\n%s", len(lines), stdout)
	}
	var j jobs.Job
	if err := json.Unmarshal([]byte(lines[0]), &j); err != nil {
		t.Fatal(err)
	}
	if j.ID != f.failed.ID || j.Status != jobs.StatusFailed || j.Error != f.failedReason {
		t.Errorf("job = %s %s %q", j.ID, j.Status, j.Error)
	}

	code, stdout, _ = runCLI(t, "db", "jobs", "--data-dir", f.dir, "--limit", "2")
	if code != exitOK || !strings.Contains(stdout, "2 jobs") || strings.Contains(stdout, f.done.ID) {
		t.Errorf("--limit 2 printed:\n%s", stdout)
	}
}
