package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// dbFixture is a closed data directory with a completed run (artifact
// files on disk for all four phases), a failed run and a queued job.
type dbFixture struct {
	dir                    string
	done, failed, queued   *jobs.Job
	doneArts               []jobs.Artifact
	doneTail, failedReason string
}

func newDBFixture(t *testing.T) *dbFixture {
	t.Helper()
	f := &dbFixture{dir: t.TempDir(), doneTail: "level=INFO msg=\"job completed\"\n", failedReason: "phase 2 (survival): no events\nin training data"}
	st, err := store.Open(filepath.Join(f.dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	submit := func(split string) *jobs.Job {
		j, _, err := pipeline.Submit(st, jobs.Params{Split: split, Model: "ensemble", Budget: 2500}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	f.done, f.failed, f.queued = submit("test"), submit("val"), submit("train")

	if _, err := st.ClaimNext(time.Now(), "picked up by a worker"); err != nil {
		t.Fatal(err)
	}
	for phase := 1; phase <= 4; phase++ {
		rel := filepath.ToSlash(filepath.Join(f.done.RunDir, fmt.Sprintf("phase%d", phase), "out.csv"))
		data := []byte(strings.Repeat(fmt.Sprintf("phase %d\n", phase), 50*phase))
		full := filepath.Join(f.dir, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		f.doneArts = append(f.doneArts, jobs.Artifact{JobID: f.done.ID, Phase: phase, Path: rel,
			Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), CreatedAt: time.Now().UTC()})
	}
	if err := st.PutArtifacts(f.doneArts); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateJob(f.done.ID, func(j *jobs.Job) error {
		j.SetProgress(4, "optimize", 1, time.Now())
		j.PhasesDone = 4
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Complete(f.done.ID, time.Now(), "all phases finished"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetLogTail(f.done.ID, f.doneTail); err != nil {
		t.Fatal(err)
	}

	if _, err := st.ClaimNext(time.Now(), "picked up by a worker"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateJob(f.failed.ID, func(j *jobs.Job) error {
		j.Error = f.failedReason
		return j.TransitionTo(jobs.StatusFailed, time.Now(), "phase error")
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// runCLI runs the command line in-process and returns its exit code and
// output streams.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, env(nil), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestDBUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"NoSubcommand", []string{"db"}, exitUsage, "needs a subcommand"},
		{"UnknownSubcommand", []string{"db", "vacuum"}, exitUsage, `unknown db subcommand "vacuum"`},
		{"Help", []string{"db", "help"}, exitOK, "/admin/backup"},
		{"JobsBadStatus", []string{"db", "jobs", "--data-dir", dir, "--status", "paused"}, exitUsage, `invalid --status "paused"`},
		{"JobsNegativeLimit", []string{"db", "jobs", "--limit", "-1"}, exitUsage, "invalid --limit"},
		{"JobsExtraArgument", []string{"db", "jobs", "extra"}, exitUsage, "takes no arguments"},
		{"ShowNoID", []string{"db", "show", "--data-dir", dir}, exitUsage, "one job id"},
		{"BackupNoOut", []string{"db", "backup", "--data-dir", dir}, exitUsage, "needs --out"},
		{"UnknownFlag", []string{"db", "check", "--fix"}, exitUsage, "fix"},
		{"MissingDatabase", []string{"db", "jobs", "--data-dir", dir}, exitFailure, "no database at " + filepath.Join(dir, store.FileName)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.msg) {
				t.Errorf("output lacks %q:\nstdout %s\nstderr %s", tc.msg, stdout, stderr)
			}
		})
	}
}

// TestDBLockedFileFailsFast holds the file open for writing, as a running
// server does, and checks that every subcommand gives up quickly with a
// message that names the cause and the way out.
func TestDBLockedFileFailsFast(t *testing.T) {
	f := newDBFixture(t)
	st, err := store.Open(filepath.Join(f.dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, sub := range [][]string{{"jobs"}, {"show", f.done.ID}, {"dump"}, {"check"}, {"backup", "--out", filepath.Join(t.TempDir(), "b.db")}} {
		t.Run(sub[0], func(t *testing.T) {
			start := time.Now()
			code, _, stderr := runCLI(t, append(append([]string{"db"}, sub...), "--data-dir", f.dir)...)
			elapsed := time.Since(start)
			if code != exitFailure {
				t.Errorf("exit code %d, want %d", code, exitFailure)
			}
			for _, want := range []string{"locked by another process", "server running", "GET /admin/backup"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("message %q lacks %q", stderr, want)
				}
			}
			// The lock timeout is 1 s; allow generous slack for a slow machine.
			if elapsed > 5*time.Second {
				t.Errorf("gave up after %v", elapsed)
			}
		})
	}
}
