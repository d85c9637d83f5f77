package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// TestRestartRunsQueuedJobsInOrder stores three queued jobs while no
// server runs, as a stop with a full queue leaves them, and checks that
// the next start runs them one after another in creation order.
func TestRestartRunsQueuedJobsInOrder(t *testing.T) {
	ecomoptiBinary(t)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, budget := range []float64{300, 200, 100} {
		j, created, err := pipeline.Submit(st, jobs.Params{Split: "test", Model: "ensemble", Budget: budget}, time.Now())
		if err != nil || !created {
			t.Fatalf("submit: %v, created %v", err, created)
		}
		ids = append(ids, j.ID)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	c := startChild(t, dir)
	for _, id := range ids {
		c.waitJob(id, 2*time.Minute, "completed", func(j *jobs.Job) bool { return j.Status == jobs.StatusCompleted })
	}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}

	s := readSnapshot(t, dir)
	for i, id := range ids {
		j := s.jobs[id]
		if j.Attempts != 1 {
			t.Errorf("job %d ran %d times", i, j.Attempts)
		}
		checkCompletedRun(t, dir, s, id)
		if i == 0 {
			continue
		}
		prev := s.jobs[ids[i-1]]
		if j.StartedAt.Before(*prev.FinishedAt) {
			t.Errorf("job %d started at %v, before job %d finished at %v", i, j.StartedAt, i-1, prev.FinishedAt)
		}
	}
	if s.latest != ids[2] {
		t.Errorf("latest run %s, want the last job %s", s.latest, ids[2])
	}
	dbCheck(t, dir)
}

// TestAttemptsCapAcrossRestarts kills the server twice during the same
// job with --max-attempts 2: the second start resumes it, the third fails
// it and names the cap.
func TestAttemptsCapAcrossRestarts(t *testing.T) {
	input := writeLargeInput(t, 10000)
	dir := t.TempDir()
	flags := []string{"--input", input, "--max-attempts", "2"}

	c := startChild(t, dir, flags...)
	id := c.submit(2500)
	c.waitJob(id, 2*time.Minute, "running phase 2", runningAtPhase(pipeline.PhaseSurvival))
	c.kill()

	c = startChild(t, dir, flags...)
	j := c.waitJob(id, 2*time.Minute, "running again", func(j *jobs.Job) bool {
		return j.Status == jobs.StatusRunning && j.Attempts == 2
	})
	if j.PhasesDone < 1 {
		t.Errorf("second attempt started with phases_done %d, want the first phase kept", j.PhasesDone)
	}
	c.kill()

	c = startChild(t, dir, flags...)
	j = c.job(id)
	if j.Status != jobs.StatusFailed {
		t.Fatalf("after the second kill the job is %s, want failed", j.Status)
	}
	if !strings.Contains(j.Error, "cap of 2") {
		t.Errorf("error %q does not name the cap", j.Error)
	}
	want := []jobs.Status{jobs.StatusQueued, jobs.StatusRunning, jobs.StatusInterrupted,
		jobs.StatusQueued, jobs.StatusRunning, jobs.StatusInterrupted, jobs.StatusFailed}
	if got := statusPath(j); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	// The server goes on serving after failing the job.
	var h map[string]any
	if code := c.call("GET", "/health", "", &h); code != http.StatusOK || h["database_ready"] != true {
		t.Errorf("health after the rescue: %d %v", code, h)
	}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	dbCheck(t, dir)
}

// TestCancelThroughHTTP cancels a queued job and a running one through
// the API of a real server.
func TestCancelThroughHTTP(t *testing.T) {
	input := writeLargeInput(t, 10000)
	dir := t.TempDir()
	c := startChild(t, dir, "--input", input)
	running := c.submit(1000)
	queued := c.submit(2000)
	c.waitJob(running, 2*time.Minute, "running phase 2", runningAtPhase(pipeline.PhaseSurvival))

	var resp struct {
		JobID  string      `json:"job_id"`
		Status jobs.Status `json:"status"`
	}
	if code := c.call("POST", "/pipeline/jobs/"+queued+"/cancel", "", &resp); code != http.StatusAccepted {
		t.Fatalf("cancel queued: status %d", code)
	}
	if resp.Status != jobs.StatusCanceled {
		t.Errorf("cancel queued answered status %s, want canceled at once", resp.Status)
	}

	if code := c.call("POST", "/pipeline/jobs/"+running+"/cancel", "", &resp); code != http.StatusAccepted {
		t.Fatalf("cancel running: status %d", code)
	}
	j := c.waitJob(running, 30*time.Second, "canceled", func(j *jobs.Job) bool { return j.Status.Final() })
	if j.Status != jobs.StatusCanceled || j.FinishedAt == nil {
		t.Errorf("running job ended %s (finished %v), want canceled", j.Status, j.FinishedAt)
	}
	if j.Progress >= 1 {
		t.Errorf("canceled job reports progress %v", j.Progress)
	}

	var d struct{ Detail string }
	if code := c.call("POST", "/pipeline/jobs/"+running+"/cancel", "", &d); code != http.StatusConflict {
		t.Errorf("cancel of a canceled job: status %d, want 409", code)
	}
	if code := c.call("POST", "/pipeline/jobs/0190c7e0-0000-7000-8000-000000000000/cancel", "", &d); code != http.StatusNotFound {
		t.Errorf("cancel of an unknown job: status %d, want 404", code)
	}

	q := c.job(queued)
	if q.Status != jobs.StatusCanceled || q.Attempts != 0 || q.StartedAt != nil {
		t.Errorf("canceled queued job: %s, %d attempts, started %v; want never started", q.Status, q.Attempts, q.StartedAt)
	}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	s := readSnapshot(t, dir)
	if s.latest != "" {
		t.Errorf("latest-run pointer %s set although no run completed", s.latest)
	}
	dbCheck(t, dir)
}

// TestServeBackupAndLockedDatabase checks the two ways to read a live
// database: the offline tools fail fast and point to the backup route,
// and GET /admin/backup returns a copy that passes the checks.
func TestServeBackupAndLockedDatabase(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, dir)
	id := c.submit(2500)
	c.waitJob(id, 2*time.Minute, "completed", func(j *jobs.Job) bool { return j.Status == jobs.StatusCompleted })

	code, _, stderr := runCLI(t, "db", "jobs", "--data-dir", dir)
	if code != exitFailure || !strings.Contains(stderr, "locked by another process") || !strings.Contains(stderr, "/admin/backup") {
		t.Errorf("db jobs on a live data directory: exit %d, %q", code, stderr)
	}

	req, err := http.NewRequest("GET", c.url+"/admin/backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "live.db")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ReadFrom(resp.Body)
	resp.Body.Close()
	f.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/backup: status %d, %v", resp.StatusCode, err)
	}

	// The copy checks with the live data directory's files, and names
	// the completed run as the latest.
	code, stdout, stderr := runCLI(t, "db", "check", "--db", out, "--data-dir", dir)
	if code != exitOK || !strings.Contains(stdout, "latest run "+id) {
		t.Errorf("check of the downloaded copy: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestServeRetentionDeletesOldRuns runs two jobs with --keep-jobs 1 and
// checks that the first run's record, log and folder go once the second
// completes, and that its status response then gives the reason.
func TestServeRetentionDeletesOldRuns(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, dir, "--keep-jobs", "1")
	first := c.submit(100)
	c.waitJob(first, 2*time.Minute, "completed", func(j *jobs.Job) bool { return j.Status == jobs.StatusCompleted })
	old := c.job(first)
	second := c.submit(200)
	c.waitJob(second, 2*time.Minute, "completed", func(j *jobs.Job) bool { return j.Status == jobs.StatusCompleted })

	// Retention runs right after the job's outcome is recorded, so poll
	// until the first job's status returns 404.
	var d struct{ Detail string }
	deadline := time.Now().Add(30 * time.Second)
	for c.call("GET", "/pipeline/status/"+first, "", &d) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("first job still stored 30s after the second completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(d.Detail, "deleted by retention") {
		t.Errorf("404 detail %q does not say retention deleted the job", d.Detail)
	}
	// The files go right after the record, so allow them a moment too.
	for _, rel := range []string{old.RunDir, old.LogFile} {
		for {
			_, err := os.Stat(filepath.Join(dir, rel))
			if os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s still exists: %v", rel, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	s := readSnapshot(t, dir)
	if len(s.jobs) != 1 || s.latest != second {
		t.Errorf("after retention: %d jobs, latest %s; want only %s", len(s.jobs), s.latest, second)
	}
	dbCheck(t, dir)
}
