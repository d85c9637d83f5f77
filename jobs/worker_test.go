package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/store"
)

// bundle is a fresh store and data directory for one test.
type bundle struct {
	store   *store.Store
	dataDir string
	log     *slog.Logger
}

func setup(t *testing.T) *bundle {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &bundle{store: st, dataDir: dir, log: slog.New(slog.DiscardHandler)}
}

func (b *bundle) submit(t *testing.T, budget float64) *jobs.Job {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	j := &jobs.Job{ID: id, Status: jobs.StatusQueued, CreatedAt: now, UpdatedAt: now,
		Params: jobs.Params{Split: "test", Model: "ensemble", Budget: budget}}
	got, created, err := b.store.CreateJob(j)
	if err != nil || !created {
		t.Fatalf("create job: %v, created %v", err, created)
	}
	return got
}

// waitFor polls the job until cond holds, failing after 10 s.
func (b *bundle) waitFor(t *testing.T, id string, cond func(*jobs.Job) bool) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := b.store.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s stuck in %s", id, j.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isStatus(s jobs.Status) func(*jobs.Job) bool {
	return func(j *jobs.Job) bool { return j.Status == s }
}

func TestWorkerRunsJobsInCreationOrder(t *testing.T) {
	b := setup(t)
	var order []float64
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		order = append(order, j.Params.Budget)
		rt.Log.Info("working", "budget", j.Params.Budget)
		rt.Progress(2, "survival", 0.5)
		return nil
	}
	a, c := b.submit(t, 1), b.submit(t, 2)
	w := jobs.NewWorker(b.store, run, jobs.WorkerConfig{DataDir: b.dataDir}, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	b.waitFor(t, c.ID, isStatus(jobs.StatusCompleted))
	cancel()
	w.Wait()

	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Errorf("ran budgets %v, want [1 2]", order)
	}
	latest, err := b.store.Latest()
	if err != nil || latest.ID != c.ID {
		t.Errorf("latest = %v, %v; want %s", latest, err, c.ID)
	}
	first, _ := b.store.Job(a.ID)
	if first.Status != jobs.StatusCompleted || first.Progress != 1 {
		t.Errorf("first job %s progress %v", first.Status, first.Progress)
	}

	// The log file and the stored tail hold the job's lines, without
	// terminal colour codes.
	raw, err := os.ReadFile(jobs.LogPath(b.dataDir, a.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "working") || strings.Contains(string(raw), "\x1b[") {
		t.Errorf("log file = %q", raw)
	}
	tail, err := b.store.LogTail(a.ID)
	if err != nil || !strings.Contains(tail, "job completed") {
		t.Errorf("stored tail = %q, %v", tail, err)
	}
}

func TestWorkerFailsJobOnErrorAndPanic(t *testing.T) {
	b := setup(t)
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		switch j.Params.Budget {
		case 1:
			return errors.New("phase 2 (survival): no events in training data")
		case 2:
			panic("index out of range")
		}
		return nil
	}
	bad, boom, good := b.submit(t, 1), b.submit(t, 2), b.submit(t, 3)
	w := jobs.NewWorker(b.store, run, jobs.WorkerConfig{DataDir: b.dataDir}, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); w.Wait() }()
	w.Start(ctx)
	b.waitFor(t, good.ID, isStatus(jobs.StatusCompleted))

	j, _ := b.store.Job(bad.ID)
	if j.Status != jobs.StatusFailed || !strings.Contains(j.Error, "no events") {
		t.Errorf("failing job: %s %q", j.Status, j.Error)
	}
	j, _ = b.store.Job(boom.ID)
	if j.Status != jobs.StatusFailed || !strings.Contains(j.Error, "index out of range") {
		t.Errorf("panicking job: %s %q", j.Status, j.Error)
	}
}

func TestCancelQueuedRunningAndFinished(t *testing.T) {
	b := setup(t)
	started := make(chan string, 4)
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		started <- j.ID
		<-ctx.Done()
		return ctx.Err()
	}
	running, queued := b.submit(t, 1), b.submit(t, 2)
	w := jobs.NewWorker(b.store, run, jobs.WorkerConfig{DataDir: b.dataDir}, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); w.Wait() }()
	w.Start(ctx)
	if id := <-started; id != running.ID {
		t.Fatalf("started %s first, want %s", id, running.ID)
	}

	// A queued job is canceled at once and never starts.
	j, err := w.Cancel(queued.ID)
	if err != nil || j.Status != jobs.StatusCanceled {
		t.Fatalf("cancel queued = %v, %v", j, err)
	}
	// A running job stops at its next safe point and ends canceled.
	if _, err := w.Cancel(running.ID); err != nil {
		t.Fatal(err)
	}
	j = b.waitFor(t, running.ID, isStatus(jobs.StatusCanceled))
	if j.FinishedAt == nil {
		t.Error("canceled job has no finish time")
	}
	// A finished job cannot be canceled.
	if _, err := w.Cancel(running.ID); !errors.Is(err, jobs.ErrFinished) {
		t.Errorf("cancel finished err = %v, want ErrFinished", err)
	}
	if _, err := w.Cancel("no-such-job"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("cancel unknown err = %v, want ErrNotFound", err)
	}
	select {
	case id := <-started:
		t.Errorf("canceled queued job %s started", id)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestShutdownInterruptsRunningJob(t *testing.T) {
	b := setup(t)
	started := make(chan struct{})
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	j := b.submit(t, 1)
	w := jobs.NewWorker(b.store, run, jobs.WorkerConfig{DataDir: b.dataDir}, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	<-started
	cancel()
	w.Wait()
	got, _ := b.store.Job(j.ID)
	if got.Status != jobs.StatusInterrupted {
		t.Errorf("after shutdown job is %s, want interrupted", got.Status)
	}
}

func TestRescueResumesAndCapsAttempts(t *testing.T) {
	b := setup(t)
	fresh, tired := b.submit(t, 1), b.submit(t, 2)
	// Leave both running as a killed process would, the second on its
	// third attempt.
	for i := 0; i < 2; i++ {
		if _, err := b.store.ClaimNext(time.Now(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.store.UpdateJob(tired.ID, func(j *jobs.Job) error { j.Attempts = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	counts, err := jobs.Rescue(b.store, jobs.RescueResume, 3, time.Now(), b.log)
	if err != nil {
		t.Fatal(err)
	}
	if counts != (jobs.RescueCounts{Interrupted: 2, Resumed: 1, Failed: 1}) {
		t.Errorf("counts = %+v", counts)
	}
	if j, _ := b.store.Job(fresh.ID); j.Status != jobs.StatusQueued {
		t.Errorf("fresh job is %s, want queued", j.Status)
	}
	j, _ := b.store.Job(tired.ID)
	if j.Status != jobs.StatusFailed || !strings.Contains(j.Error, "cap of 3") {
		t.Errorf("tired job is %s %q, want failed naming the attempts", j.Status, j.Error)
	}
}

func TestRescueMarkLeavesJobsInterrupted(t *testing.T) {
	b := setup(t)
	j := b.submit(t, 1)
	if _, err := b.store.ClaimNext(time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	counts, err := jobs.Rescue(b.store, jobs.RescueMark, 3, time.Now(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if counts.Interrupted != 1 || counts.Resumed != 0 {
		t.Errorf("counts = %+v", counts)
	}
	if got, _ := b.store.Job(j.ID); got.Status != jobs.StatusInterrupted {
		t.Errorf("job is %s, want interrupted", got.Status)
	}
}
