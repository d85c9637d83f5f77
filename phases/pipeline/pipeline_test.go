package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/store"
)

var discard = slog.New(slog.DiscardHandler)

func sampleInput(t *testing.T) prepare.Input {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "telco_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return prepare.Input{Path: "sample", Data: data}
}

var testParams = jobs.Params{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 2500}

// TestRunReportsEveryPhase checks the hooks: progress for each phase in
// order and a checkpoint listing files that exist.
func TestRunReportsEveryPhase(t *testing.T) {
	runDir := t.TempDir()
	var phases []int
	checkpoints := map[int][]string{}
	hooks := Hooks{
		Progress: func(phase int, name string, p float64) {
			if PhaseNames[phase] != name || p < 0 || p > 1 {
				t.Errorf("progress(%d, %q, %v)", phase, name, p)
			}
			phases = append(phases, phase)
		},
		Checkpoint: func(phase int, files []string) error {
			checkpoints[phase] = files
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(PhaseDir(runDir, phase), f)); err != nil {
					t.Errorf("checkpoint of phase %d lists %s: %v", phase, f, err)
				}
			}
			return nil
		},
	}
	m, err := Run(context.Background(), Request{Input: sampleInput(t), RunDir: runDir, Params: testParams}, DefaultConfig(), hooks, discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 2, 3, 4, 4}
	if len(phases) != len(want) {
		t.Fatalf("progress phases %v, want %v", phases, want)
	}
	for i := range want {
		if phases[i] != want[i] {
			t.Fatalf("progress phases %v, want %v", phases, want)
		}
	}
	for p := 1; p <= 4; p++ {
		if len(checkpoints[p]) == 0 {
			t.Errorf("phase %d recorded no files", p)
		}
	}
	if m.Optimize == nil || m.Optimize.CustomersSelected == 0 {
		t.Errorf("optimize metrics = %+v", m.Optimize)
	}
	if _, err := ReadMetrics(runDir); err != nil {
		t.Errorf("metrics.json: %v", err)
	}
}

// TestRunResumesFromLaterPhase loads phases 1-2 from disk and gives the
// same uplift scores as the full run.
func TestRunResumesFromLaterPhase(t *testing.T) {
	runDir := t.TempDir()
	ctx := context.Background()
	in := sampleInput(t)
	if _, err := Run(ctx, Request{Input: in, RunDir: runDir, Params: testParams}, DefaultConfig(), Hooks{}, discard); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(PhaseDir(runDir, PhaseUplift), "uplift_test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var ran []int
	hooks := Hooks{Checkpoint: func(phase int, _ []string) error { ran = append(ran, phase); return nil }}
	// No input: phases 1 and 2 must come from the run folder.
	req := Request{RunDir: runDir, Params: testParams, StartPhase: PhaseUplift}
	if _, err := Run(ctx, req, DefaultConfig(), hooks, discard); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 || ran[0] != PhaseUplift || ran[1] != PhaseOptimize {
		t.Errorf("resumed run checkpointed phases %v, want [3 4]", ran)
	}
	after, err := os.ReadFile(filepath.Join(PhaseDir(runDir, PhaseUplift), "uplift_test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("resumed phase 3 wrote different scores from the same inputs")
	}
}

func TestRunStopsOnCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Request{Input: sampleInput(t), RunDir: t.TempDir(), Params: testParams}, DefaultConfig(), Hooks{}, discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestResumePhaseVerifiesArtifacts runs a job, then changes one Phase 2
// file: a resumed job must start again at Phase 2.
func TestResumePhaseVerifiesArtifacts(t *testing.T) {
	dataDir := t.TempDir()
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	job, _, err := Submit(st, testParams, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := sampleInput(t)
	w := jobs.NewWorker(st, JobFunc(dataDir, func() (prepare.Input, error) { return in, nil }, DefaultConfig(), st),
		jobs.WorkerConfig{DataDir: dataDir}, discard)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := st.Job(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Final() {
			job = j
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	w.Wait()
	if job.Status != jobs.StatusCompleted || job.PhasesDone != 4 {
		t.Fatalf("job %s with %d phases done: %s", job.Status, job.PhasesDone, job.Error)
	}

	start, err := resumePhase(dataDir, job, st)
	if err != nil || start != PhaseOptimize {
		t.Errorf("intact run resumes at %d (%v), want 4", start, err)
	}
	arts, err := st.Artifacts(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		if err := Verify(dataDir, a); err != nil {
			t.Errorf("fresh artifact fails verification: %v", err)
		}
	}
	for _, a := range arts {
		if a.Phase == PhaseSurvival {
			if err := os.WriteFile(filepath.Join(dataDir, a.Path), []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	start, err = resumePhase(dataDir, job, st)
	if err != nil || start != PhaseSurvival {
		t.Errorf("run with a changed phase 2 file resumes at %d (%v), want 2", start, err)
	}
}
