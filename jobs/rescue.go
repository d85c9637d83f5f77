package jobs

import (
	"fmt"
	"log/slog"
	"time"
)

// RescueMode is the start-up action for a job found interrupted.
type RescueMode string

const (
	// RescueResume queues interrupted jobs again; they continue after the
	// last phase whose artifacts still verify.
	RescueResume RescueMode = "resume"
	// RescueMark leaves interrupted jobs interrupted for an operator.
	RescueMark RescueMode = "mark"
)

// DefaultMaxAttempts caps how often a job is started before the rescue
// fails it instead of resuming it again.
const DefaultMaxAttempts = 3

// RescueCounts reports what Rescue did.
type RescueCounts struct {
	Interrupted int // running jobs found and marked interrupted
	Resumed     int // interrupted jobs queued again
	Failed      int // interrupted jobs failed for too many attempts
}

// Rescue runs at start-up, before any worker. Every running job is left
// over from a process that stopped, so it becomes interrupted. Then each
// interrupted job is queued again (mode resume, attempts below
// maxAttempts), failed (attempts exhausted), or left as it is (mode mark).
func Rescue(store Store, mode RescueMode, maxAttempts int, now time.Time, log *slog.Logger) (RescueCounts, error) {
	var counts RescueCounts
	if mode != RescueResume && mode != RescueMark {
		return counts, fmt.Errorf("invalid rescue mode %q: use resume or mark", mode)
	}
	running, err := store.Jobs(JobFilter{Status: StatusRunning})
	if err != nil {
		return counts, fmt.Errorf("rescue: %w", err)
	}
	for _, j := range running {
		_, err := store.UpdateJob(j.ID, func(j *Job) error {
			return j.TransitionTo(StatusInterrupted, now, "the server stopped during the run")
		})
		if err != nil {
			return counts, fmt.Errorf("rescue job %s: %w", j.ID, err)
		}
		counts.Interrupted++
		log.Warn("job interrupted by a server stop", "job_id", j.ID, "phase", j.Phase, "attempts", j.Attempts)
	}
	if mode == RescueMark {
		return counts, nil
	}
	interrupted, err := store.Jobs(JobFilter{Status: StatusInterrupted})
	if err != nil {
		return counts, fmt.Errorf("rescue: %w", err)
	}
	for _, j := range interrupted {
		var to Status
		_, err := store.UpdateJob(j.ID, func(j *Job) error {
			if j.Attempts >= maxAttempts {
				to = StatusFailed
				j.Error = fmt.Sprintf("interrupted during each of its %d starts; giving up at the cap of %d (--max-attempts)", j.Attempts, maxAttempts)
				return j.TransitionTo(StatusFailed, now, "attempts exhausted")
			}
			to = StatusQueued
			return j.TransitionTo(StatusQueued, now, "resumed after a server stop")
		})
		if err != nil {
			return counts, fmt.Errorf("rescue job %s: %w", j.ID, err)
		}
		if to == StatusFailed {
			counts.Failed++
			log.Error("job failed after too many interruptions", "job_id", j.ID, "attempts", j.Attempts)
		} else {
			counts.Resumed++
			log.Info("job queued to resume", "job_id", j.ID, "phases_done", j.PhasesDone)
		}
	}
	return counts, nil
}
