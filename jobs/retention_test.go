package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// addFinished submits a job with files on disk and moves it to status to,
// finishing at the given time. A completed job becomes the latest run.
func (b *bundle) addFinished(t *testing.T, budget float64, to jobs.Status, at time.Time) *jobs.Job {
	t.Helper()
	j := b.submit(t, budget)
	runDir := filepath.Join("runs", j.ID)
	logFile := jobs.LogFile(j.ID)
	if err := os.MkdirAll(filepath.Join(b.dataDir, runDir, "phase1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dataDir, runDir, "phase1", "train.csv"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b.dataDir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dataDir, logFile), []byte("log\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := b.store.UpdateJob(j.ID, func(j *jobs.Job) error {
		j.RunDir, j.LogFile = runDir, logFile
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.ClaimNext(at, "test"); err != nil {
		t.Fatal(err)
	}

	var err error
	if to == jobs.StatusCompleted {
		j, err = b.store.Complete(j.ID, at, "test")
	} else {
		j, err = b.store.UpdateJob(j.ID, func(j *jobs.Job) error { return j.TransitionTo(to, at, "test") })
	}
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (b *bundle) exists(t *testing.T, j *jobs.Job) (record, runDir, logFile bool) {
	t.Helper()
	_, err := b.store.Job(j.ID)
	if err != nil && !errors.Is(err, jobs.ErrNotFound) {
		t.Fatal(err)
	}
	_, runErr := os.Stat(filepath.Join(b.dataDir, j.RunDir))
	_, logErr := os.Stat(filepath.Join(b.dataDir, j.LogFile))
	return err == nil, runErr == nil, logErr == nil
}

func TestPruneKeepsNewestFinishedJobs(t *testing.T) {
	b := setup(t)
	now := time.Now()
	latest := b.addFinished(t, 1, jobs.StatusCompleted, now) // oldest, but the latest completed run
	old := b.addFinished(t, 2, jobs.StatusFailed, now)
	canceled := b.addFinished(t, 3, jobs.StatusCanceled, now)
	newer := b.addFinished(t, 4, jobs.StatusFailed, now)
	newest := b.addFinished(t, 5, jobs.StatusCanceled, now)
	stopped := b.submit(t, 6)
	if _, err := b.store.ClaimNext(now, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.UpdateJob(stopped.ID, func(j *jobs.Job) error {
		return j.TransitionTo(jobs.StatusInterrupted, now, "test")
	}); err != nil {
		t.Fatal(err)
	}
	queued := b.submit(t, 7)

	p := jobs.NewPruner(b.store, jobs.RetentionPolicy{KeepJobs: 2}, b.dataDir, b.log)
	counts, err := p.Prune(now)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Deleted != 2 || counts.FilesRemoved != 4 {
		t.Errorf("counts = %+v, want 2 jobs and 4 paths", counts)
	}
	for _, j := range []*jobs.Job{old, canceled} {
		record, runDir, logFile := b.exists(t, j)
		if record || runDir || logFile {
			t.Errorf("pruned job %s: record %v, run folder %v, log %v; want all deleted", j.ID, record, runDir, logFile)
		}
	}
	for _, j := range []*jobs.Job{latest, newer, newest} {
		record, runDir, logFile := b.exists(t, j)
		if !record || !runDir || !logFile {
			t.Errorf("kept job %s: record %v, run folder %v, log %v; want all present", j.ID, record, runDir, logFile)
		}
	}
	for _, j := range []*jobs.Job{stopped, queued} {
		if _, err := b.store.Job(j.ID); err != nil {
			t.Errorf("unfinished job %s was deleted: %v", j.ID, err)
		}
	}

	// A second run has nothing left to do.
	counts, err = p.Prune(now)
	if err != nil || counts != (jobs.PruneCounts{}) {
		t.Errorf("second prune = %+v, %v", counts, err)
	}
}

func TestPruneByAge(t *testing.T) {
	b := setup(t)
	now := time.Now()
	day := 24 * time.Hour
	ancient := b.addFinished(t, 1, jobs.StatusFailed, now.Add(-40*day))
	latest := b.addFinished(t, 2, jobs.StatusCompleted, now.Add(-35*day))
	recent := b.addFinished(t, 3, jobs.StatusCanceled, now.Add(-2*day))

	p := jobs.NewPruner(b.store, jobs.RetentionPolicy{MaxAge: 30 * day}, b.dataDir, b.log)
	counts, err := p.Prune(now)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Deleted != 1 {
		t.Errorf("deleted %d jobs, want 1", counts.Deleted)
	}
	if record, _, _ := b.exists(t, ancient); record {
		t.Error("job finished 40 days ago was kept")
	}
	for _, j := range []*jobs.Job{latest, recent} {
		if record, _, _ := b.exists(t, j); !record {
			t.Errorf("job %s was deleted", j.ID)
		}
	}
}

func TestPruneDisabledDeletesNothing(t *testing.T) {
	b := setup(t)
	j := b.addFinished(t, 1, jobs.StatusFailed, time.Now().Add(-1000*time.Hour))
	counts, err := jobs.NewPruner(b.store, jobs.RetentionPolicy{}, b.dataDir, b.log).Prune(time.Now())
	if err != nil || counts != (jobs.PruneCounts{}) {
		t.Errorf("prune with no policy = %+v, %v", counts, err)
	}
	if record, runDir, _ := b.exists(t, j); !record || !runDir {
		t.Error("prune with no policy deleted a job")
	}
}

// TestSweepRemovesLeftoverFiles covers a stop between deleting a job's
// record and its files: the next start removes the files.
func TestSweepRemovesLeftoverFiles(t *testing.T) {
	b := setup(t)
	now := time.Now()
	b.addFinished(t, 1, jobs.StatusCompleted, now)
	deleted := b.addFinished(t, 2, jobs.StatusFailed, now)
	if _, err := b.store.DeleteJob(deleted.ID, now, "test"); err != nil {
		t.Fatal(err)
	}
	unrelated := filepath.Join(b.dataDir, "runs", "keep-me")
	if err := os.MkdirAll(unrelated, 0o755); err != nil {
		t.Fatal(err)
	}

	removed, err := jobs.NewPruner(b.store, jobs.RetentionPolicy{}, b.dataDir, b.log).Sweep()
	if err != nil {
		t.Fatal(err)
	}
	if removed != 2 {
		t.Errorf("removed %d paths, want the run folder and the log", removed)
	}
	if _, runDir, logFile := b.exists(t, deleted); runDir || logFile {
		t.Errorf("leftovers: run folder %v, log %v", runDir, logFile)
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Errorf("sweep removed a folder of no deleted job: %v", err)
	}
}

func TestPruneSkipsPathsOutsideTheJob(t *testing.T) {
	b := setup(t)
	now := time.Now()
	b.addFinished(t, 1, jobs.StatusCompleted, now)
	j := b.addFinished(t, 2, jobs.StatusFailed, now.Add(-time.Hour))
	outside := filepath.Join(b.dataDir, "runs", "shared")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"runs/shared", "../" + filepath.Base(b.dataDir)} {
		if _, err := b.store.UpdateJob(j.ID, func(j *jobs.Job) error { j.RunDir = dir; return nil }); err != nil {
			t.Fatal(err)
		}
		p := jobs.NewPruner(b.store, jobs.RetentionPolicy{MaxAge: time.Minute}, b.dataDir, b.log)
		if _, err := p.Prune(now); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(outside); err != nil {
			t.Fatalf("run folder %q of a damaged record was removed: %v", dir, err)
		}
		// Recreate the job for the next case.
		j = b.addFinished(t, 3, jobs.StatusFailed, now.Add(-time.Hour))
	}
}

func TestWorkerPrunesAfterEachJob(t *testing.T) {
	b := setup(t)
	finished := make(chan string, 3)
	p := jobs.NewPruner(b.store, jobs.RetentionPolicy{KeepJobs: 1}, b.dataDir, b.log)
	cfg := jobs.WorkerConfig{DataDir: b.dataDir, OnFinished: func(id string) {
		if _, err := p.Prune(time.Now()); err != nil {
			t.Errorf("prune: %v", err)
		}
		finished <- id
	}}
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		if j.Params.Budget == 2 {
			return errors.New("phase 1 (prepare): bad input")
		}
		return nil
	}
	a, c, d := b.submit(t, 1), b.submit(t, 2), b.submit(t, 3)
	w := jobs.NewWorker(b.store, run, cfg, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	defer func() { cancel(); w.Wait() }()

	// OnFinished runs after the outcome is stored, so wait for the hook
	// itself rather than for the last job's status.
	var got []string
	for range 3 {
		select {
		case id := <-finished:
			got = append(got, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("OnFinished called for %v only", got)
		}
	}
	if !slices.Equal(got, []string{a.ID, c.ID, d.ID}) {
		t.Errorf("OnFinished saw %v, want the three jobs in order", got)
	}
	// Keeping one finished job: the failed job c and the earlier
	// completed run a are deleted, the latest run d stays.
	for _, id := range []string{a.ID, c.ID} {
		if _, err := b.store.Job(id); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("job %s after pruning: %v, want not found", id, err)
		}
	}
	if _, err := b.store.Job(d.ID); err != nil {
		t.Errorf("latest run was pruned: %v", err)
	}
}

func TestOnFinishedSkipsShutdown(t *testing.T) {
	b := setup(t)
	called := make(chan string, 1)
	started := make(chan struct{})
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	j := b.submit(t, 1)
	w := jobs.NewWorker(b.store, run, jobs.WorkerConfig{DataDir: b.dataDir, OnFinished: func(id string) { called <- id }}, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	<-started
	cancel()
	w.Wait()
	if got, _ := b.store.Job(j.ID); got.Status != jobs.StatusInterrupted {
		t.Fatalf("job is %s, want interrupted", got.Status)
	}
	select {
	case id := <-called:
		t.Errorf("OnFinished called for %s at shutdown", id)
	default:
	}
}
