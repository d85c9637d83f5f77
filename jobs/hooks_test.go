package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// TestWorkerHooksReportPhases checks that OnProgress sees every progress
// report and OnPhaseDone only the phases that were checkpointed.
func TestWorkerHooksReportPhases(t *testing.T) {
	b := setup(t)
	run := func(ctx context.Context, j *jobs.Job, rt *jobs.Runtime) error {
		rt.Progress(1, "prepare", 0)
		// Phase 1 is loaded from a checkpoint: no Checkpoint call.
		rt.Progress(2, "survival", 0.25)
		time.Sleep(20 * time.Millisecond)
		if err := rt.Checkpoint(2, nil); err != nil {
			return err
		}
		rt.Progress(3, "uplift", 0.5)
		if err := rt.Checkpoint(3, nil); err != nil {
			return err
		}
		rt.Progress(3, "uplift", 1)
		return nil
	}
	type progress struct {
		phase    int
		progress float64
	}
	type done struct {
		phase   int
		name    string
		elapsed time.Duration
	}
	var mu sync.Mutex
	var seen []progress
	var finished []done
	cfg := jobs.WorkerConfig{
		DataDir: b.dataDir,
		OnProgress: func(id string, phase int, name string, p float64) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, progress{phase, p})
		},
		OnPhaseDone: func(id string, phase int, name string, elapsed time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			finished = append(finished, done{phase, name, elapsed})
		},
	}
	job := b.submit(t, 1)
	w := jobs.NewWorker(b.store, run, cfg, b.log)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	b.waitFor(t, job.ID, isStatus(jobs.StatusCompleted))
	cancel()
	w.Wait()

	mu.Lock()
	defer mu.Unlock()
	wantSeen := []progress{{1, 0}, {2, 0.25}, {3, 0.5}, {3, 1}}
	if len(seen) != len(wantSeen) {
		t.Fatalf("progress reports %v, want %v", seen, wantSeen)
	}
	for i := range wantSeen {
		if seen[i] != wantSeen[i] {
			t.Errorf("progress report %d = %v, want %v", i, seen[i], wantSeen[i])
		}
	}
	if len(finished) != 2 {
		t.Fatalf("phases reported done %v, want phases 2 and 3", finished)
	}
	if finished[0].phase != 2 || finished[0].name != "survival" {
		t.Errorf("first finished phase %d %q, want 2 survival", finished[0].phase, finished[0].name)
	}
	if finished[0].elapsed < 20*time.Millisecond {
		t.Errorf("phase 2 took %v, want at least the 20ms it slept", finished[0].elapsed)
	}
	if finished[1].phase != 3 || finished[1].name != "uplift" {
		t.Errorf("second finished phase %d %q, want 3 uplift", finished[1].phase, finished[1].name)
	}
}
