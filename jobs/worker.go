package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"
)

// RunFunc executes one job. It returns nil on success. It must return
// promptly once ctx is done, with an error wrapping ctx.Err().
type RunFunc func(ctx context.Context, job *Job, rt *Runtime) error

// Runtime is the per-job toolkit passed beside the context: a logger that
// writes to the job's log file, the server log and the stored tail, and
// calls to report progress and finished phases.
type Runtime struct {
	Log   *slog.Logger
	store Store
	jobID string
	tail  *tailWriter

	// The phase being run and when it started, for WorkerConfig.OnPhaseDone.
	onProgress  func(jobID string, phase int, name string, progress float64)
	onPhaseDone func(jobID string, phase int, name string, elapsed time.Duration)
	phase       int
	phaseName   string
	phaseStart  time.Time
}

// Progress records the phase being run and the overall progress (0 to 1).
// A store error is logged, not returned: progress is advisory.
func (rt *Runtime) Progress(phase int, name string, progress float64) {
	if phase != rt.phase {
		rt.phase, rt.phaseName, rt.phaseStart = phase, name, time.Now()
	}
	_, err := rt.store.UpdateJob(rt.jobID, func(j *Job) error {
		j.SetProgress(phase, name, progress, time.Now())
		return nil
	})
	if err != nil {
		rt.Log.Error("record progress", "err", err)
	}
	rt.tail.Flush()
	if rt.onProgress != nil {
		rt.onProgress(rt.jobID, phase, name, progress)
	}
}

// Checkpoint records the artifacts of a finished phase and marks the phase
// done, in that order, so a resumed job can verify them.
func (rt *Runtime) Checkpoint(phase int, arts []Artifact) error {
	if err := rt.store.DeleteArtifacts(rt.jobID, phase); err != nil {
		return fmt.Errorf("checkpoint phase %d: %w", phase, err)
	}
	if err := rt.store.PutArtifacts(arts); err != nil {
		return fmt.Errorf("checkpoint phase %d: %w", phase, err)
	}
	_, err := rt.store.UpdateJob(rt.jobID, func(j *Job) error {
		j.PhasesDone = phase
		return nil
	})
	if err != nil {
		return fmt.Errorf("checkpoint phase %d: %w", phase, err)
	}
	if rt.onPhaseDone != nil && phase == rt.phase {
		rt.onPhaseDone(rt.jobID, phase, rt.phaseName, time.Since(rt.phaseStart))
	}
	return nil
}

// WorkerConfig sets how jobs are run.
type WorkerConfig struct {
	// Workers is the number of jobs run at once (default 1).
	Workers int
	// DataDir is the directory that holds logs/; job log files are
	// logs/pipeline_<id>.log below it.
	DataDir string
	// TailBytes is the size of the log tail kept in the store (default 16 KiB).
	TailBytes int
	// Level is the minimum level written to job logs (default Info).
	Level slog.Leveler
	// OnProgress, when set, receives every progress report of a job: the
	// phase number and name and the share of the pipeline done (0 to 1).
	// It runs on the job's goroutine, so it must return quickly.
	OnProgress func(jobID string, phase int, name string, progress float64)
	// OnPhaseDone, when set, receives the wall time of each phase that a
	// job ran and checkpointed, measured from the phase's first progress
	// report. Phases loaded from a checkpoint on resume are not reported.
	OnPhaseDone func(jobID string, phase int, name string, elapsed time.Duration)
	// OnFinished, when set, is called with the job id after a job's
	// outcome is recorded and its log closed, on the worker goroutine. It
	// is not called for a job that shutdown interrupted. Retention uses it.
	OnFinished func(jobID string)
}

// Worker takes queued jobs from a Store in creation order and runs them.
type Worker struct {
	store Store
	run   RunFunc
	cfg   WorkerConfig
	log   *slog.Logger

	wake chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
}

// errCancelRequested is the cancel cause of a job a user canceled.
var errCancelRequested = errors.New("canceled by request")

// NewWorker returns a worker; call Start to begin taking jobs.
func NewWorker(store Store, run RunFunc, cfg WorkerConfig, log *slog.Logger) *Worker {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.TailBytes <= 0 {
		cfg.TailBytes = 16 << 10
	}
	if cfg.Level == nil {
		cfg.Level = slog.LevelInfo
	}
	return &Worker{
		store:   store,
		run:     run,
		cfg:     cfg,
		log:     log,
		wake:    make(chan struct{}, 1),
		running: make(map[string]context.CancelCauseFunc),
	}
}

// LogPath returns the path of a job's full log file below dataDir.
func LogPath(dataDir, id string) string {
	return filepath.Join(dataDir, LogFile(id))
}

// LogFile returns the log file of a job relative to the data directory.
func LogFile(id string) string { return filepath.Join("logs", "pipeline_"+id+".log") }

// Start launches the worker goroutines. They stop when ctx is done; a job
// running then ends interrupted. Call Wait to block until they have exited.
func (w *Worker) Start(ctx context.Context) {
	for i := 0; i < w.cfg.Workers; i++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.loop(ctx)
		}()
	}
	w.Notify()
}

// Wait blocks until every worker goroutine has exited.
func (w *Worker) Wait() { w.wg.Wait() }

// Notify wakes a worker to look for queued jobs.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) loop(ctx context.Context) {
	for {
		if ctx.Err() != nil {
			return
		}
		job, jobCtx, err := w.claim(ctx)
		if err != nil {
			w.log.Error("claim next job", "err", err)
		}
		if job == nil {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			case <-time.After(5 * time.Second):
			}
			continue
		}
		// Another worker may find more queued jobs.
		w.Notify()
		w.execute(ctx, jobCtx, job)
	}
}

// claim moves the next queued job to running and registers its cancel
// function under the same lock that Cancel takes, so a cancel never misses
// a job that has just started.
func (w *Worker) claim(ctx context.Context) (*Job, context.Context, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	job, err := w.store.ClaimNext(time.Now(), "picked up by a worker")
	if err != nil || job == nil {
		return nil, nil, err
	}
	jobCtx, cancel := context.WithCancelCause(ctx)
	w.running[job.ID] = cancel
	return job, jobCtx, nil
}

func (w *Worker) execute(serverCtx, ctx context.Context, job *Job) {
	log := w.log.With("job_id", job.ID)
	defer func() {
		w.mu.Lock()
		if cancel, ok := w.running[job.ID]; ok {
			cancel(nil)
			delete(w.running, job.ID)
		}
		w.mu.Unlock()
	}()

	tail := newTailWriter(w.store, job.ID, w.cfg.TailBytes, log)
	if prev, err := w.store.LogTail(job.ID); err == nil {
		tail.seed(prev)
	}
	var file io.WriteCloser
	path := LogPath(w.cfg.DataDir, job.ID)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Error("create log directory", "err", err)
	} else if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		log.Error("open job log", "path", path, "err", err)
	} else {
		file = f
		tail.file = f
	}
	jobHandler := slog.NewTextHandler(tail, &slog.HandlerOptions{Level: w.cfg.Level})
	rt := &Runtime{
		Log:   slog.New(slog.NewMultiHandler(w.log.Handler(), jobHandler)).With("job_id", job.ID),
		store: w.store,
		jobID: job.ID,
		tail:  tail,

		onProgress:  w.cfg.OnProgress,
		onPhaseDone: w.cfg.OnPhaseDone,
	}
	rt.Log.Info("job started", "attempt", job.Attempts, "split", job.Params.Split,
		"model", job.Params.Model, "budget", job.Params.Budget)

	err := w.runSafely(ctx, job, rt)
	w.finish(serverCtx, ctx, job.ID, err, rt.Log)

	tail.Flush()
	if file != nil {
		if err := file.Close(); err != nil {
			log.Error("close job log", "err", err)
		}
	}
	if w.cfg.OnFinished != nil && serverCtx.Err() == nil {
		w.cfg.OnFinished(job.ID)
	}
}

// runSafely runs the job, turning a panic into an error so one bad job
// cannot stop the server or the other workers.
func (w *Worker) runSafely(ctx context.Context, job *Job, rt *Runtime) (err error) {
	defer func() {
		if r := recover(); r != nil {
			rt.Log.Error("job panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return w.run(ctx, job, rt)
}

// finish records the outcome: completed, canceled by request, interrupted
// by shutdown, or failed.
func (w *Worker) finish(serverCtx, ctx context.Context, id string, runErr error, log *slog.Logger) {
	now := time.Now()
	var err error
	switch {
	case runErr == nil:
		_, err = w.store.Complete(id, now, "all phases finished")
		if err == nil {
			log.Info("job completed")
		}
	case errors.Is(context.Cause(ctx), errCancelRequested):
		err = w.transition(id, StatusCanceled, now, "canceled by request")
		log.Info("job canceled")
	case serverCtx.Err() != nil:
		err = w.transition(id, StatusInterrupted, now, "server stopped during the run")
		log.Info("job interrupted by shutdown")
	default:
		_, err = w.store.UpdateJob(id, func(j *Job) error {
			if err := j.TransitionTo(StatusFailed, now, "phase error"); err != nil {
				return err
			}
			j.Error = runErr.Error()
			return nil
		})
		log.Error("job failed", "err", runErr)
	}
	if err != nil {
		log.Error("record job outcome", "err", err)
	}
}

func (w *Worker) transition(id string, to Status, at time.Time, reason string) error {
	_, err := w.store.UpdateJob(id, func(j *Job) error { return j.TransitionTo(to, at, reason) })
	return err
}

// Cancel cancels a job: a queued or interrupted job at once, a running one
// at its next safe point (it ends canceled shortly after). A job that has
// already finished returns an error wrapping ErrFinished.
func (w *Worker) Cancel(id string) (*Job, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cancel, ok := w.running[id]; ok {
		// A job stays registered until its worker has flushed its log,
		// which is after its outcome is stored, so check the status.
		j, err := w.store.Job(id)
		if err != nil {
			return nil, err
		}
		if j.Status.Final() {
			return nil, fmt.Errorf("%w: job %s is %s", ErrFinished, id, j.Status)
		}
		cancel(errCancelRequested)
		return j, nil
	}
	return w.store.UpdateJob(id, func(j *Job) error {
		if j.Status.Final() {
			return fmt.Errorf("%w: job %s is %s", ErrFinished, id, j.Status)
		}
		if j.Status == StatusRunning {
			// Running in no worker of this process: only possible when
			// another process owns the database, which the file lock forbids.
			return fmt.Errorf("job %s is running but not in this worker", id)
		}
		return j.TransitionTo(StatusCanceled, time.Now(), "canceled by request")
	})
}
