package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/prepare"
)

// RunsDir is the folder of run folders inside the data directory.
const RunsDir = "runs"

// Submit creates a queued job for params, or returns the queued or running
// job with the same params (created is false then).
func Submit(store jobs.Store, params jobs.Params, now time.Time) (job *jobs.Job, created bool, err error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("new job id: %w", err)
	}
	now = now.UTC()
	j := &jobs.Job{
		ID:          id.String(),
		Params:      params,
		Status:      jobs.StatusQueued,
		CreatedAt:   now,
		UpdatedAt:   now,
		RunDir:      filepath.Join(RunsDir, id.String()),
		LogFile:     jobs.LogFile(id.String()),
		Transitions: []jobs.Transition{{To: jobs.StatusQueued, At: now, Reason: "submitted"}},
	}
	return store.CreateJob(j)
}

// InputFunc returns the raw customer file for a run. It is called when a
// job starts, so a changed input file is picked up by the next run.
type InputFunc func() (prepare.Input, error)

// FileInput reads the customer CSV at path.
func FileInput(path string) InputFunc {
	return func() (prepare.Input, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return prepare.Input{}, fmt.Errorf("read input: %w", err)
		}
		return prepare.Input{Path: path, Data: data}, nil
	}
}

// JobFunc returns the jobs.RunFunc that runs the pipeline for a job in its
// own run folder below dataDir. A job that ran before resumes after the last
// phase whose recorded artifacts all still exist with their size and hash.
func JobFunc(dataDir string, input InputFunc, cfg Config, store jobs.Store) jobs.RunFunc {
	return func(ctx context.Context, job *jobs.Job, rt *jobs.Runtime) error {
		runDir := filepath.Join(dataDir, job.RunDir)
		start, err := resumePhase(dataDir, job, store)
		if err != nil {
			return err
		}
		if start > 1 {
			rt.Log.Info("resuming run", "start_phase", start, "phases_done", job.PhasesDone)
		}
		in, err := input()
		if err != nil {
			return err
		}
		hooks := Hooks{
			Progress: rt.Progress,
			Checkpoint: func(phase int, files []string) error {
				arts, err := describe(dataDir, job.ID, phase, PhaseDir(runDir, phase), files)
				if err != nil {
					return err
				}
				return rt.Checkpoint(phase, arts)
			},
		}
		req := Request{Input: in, RunDir: runDir, Params: job.Params, StartPhase: start}
		_, err = Run(ctx, req, cfg, hooks, rt.Log)
		return err
	}
}

// resumePhase returns the first phase to run: one past the last phase in a
// row of finished phases whose artifacts verify, capped at 4 because the
// optimisation phase is cheap and always writes the final metrics.
func resumePhase(dataDir string, job *jobs.Job, store jobs.Store) (int, error) {
	if job.PhasesDone == 0 {
		return 1, nil
	}
	arts, err := store.Artifacts(job.ID)
	if err != nil {
		return 0, fmt.Errorf("read checkpoints: %w", err)
	}
	for p := 1; p <= job.PhasesDone && p < PhaseOptimize; p++ {
		n := 0
		for _, a := range arts {
			if a.Phase != p {
				continue
			}
			n++
			if err := Verify(dataDir, a); err != nil {
				return p, nil
			}
		}
		if n == 0 {
			return p, nil
		}
	}
	return min(job.PhasesDone+1, PhaseOptimize), nil
}

// Verify checks that an artifact exists with its recorded size and SHA-256.
func Verify(dataDir string, a jobs.Artifact) error {
	size, sum, err := hashFile(filepath.Join(dataDir, a.Path))
	if err != nil {
		return err
	}
	if size != a.Size || sum != a.SHA256 {
		return fmt.Errorf("artifact %s changed: size %d sha256 %s, recorded %d %s", a.Path, size, sum, a.Size, a.SHA256)
	}
	return nil
}

func describe(dataDir, jobID string, phase int, dir string, files []string) ([]jobs.Artifact, error) {
	arts := make([]jobs.Artifact, 0, len(files))
	now := time.Now().UTC()
	for _, name := range files {
		full := filepath.Join(dir, name)
		size, sum, err := hashFile(full)
		if err != nil {
			return nil, fmt.Errorf("checkpoint phase %d: %w", phase, err)
		}
		rel, err := filepath.Rel(dataDir, full)
		if err != nil {
			return nil, err
		}
		arts = append(arts, jobs.Artifact{JobID: jobID, Phase: phase, Path: filepath.ToSlash(rel), Size: size, SHA256: sum, CreatedAt: now})
	}
	return arts, nil
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
