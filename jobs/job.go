// Package jobs is the domain of pipeline runs: the Job record, its status
// machine, the artifacts a run leaves behind, and the Store interface that
// keeps them. It imports neither bbolt nor HTTP; package store implements
// Store on a bbolt file and package httpapi serves it.
package jobs

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Status is the state of a pipeline job.
type Status string

const (
	// StatusQueued: set by Create and by the start-up rescue when an
	// interrupted job resumes. A worker moves it to running; a cancel
	// moves it to canceled.
	StatusQueued Status = "queued"
	// StatusRunning: set by a worker when it claims the job. The worker
	// moves it to completed, failed or canceled; shutdown moves it to
	// interrupted.
	StatusRunning Status = "running"
	// StatusCompleted: set by a worker after every phase succeeded and the
	// latest-run pointer moved to this job. Final.
	StatusCompleted Status = "completed"
	// StatusFailed: set by a worker when a phase returned an error or
	// panicked, or by the rescue when attempts are exhausted. Final.
	StatusFailed Status = "failed"
	// StatusCanceled: set by a cancel request. Final.
	StatusCanceled Status = "canceled"
	// StatusInterrupted: set at shutdown, or at start-up for a job found
	// running. The rescue moves it to queued (resume) or failed (attempts
	// exhausted), or leaves it here when resuming is off.
	StatusInterrupted Status = "interrupted"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusQueued, StatusRunning, StatusCompleted, StatusFailed, StatusCanceled, StatusInterrupted}

// allowed is the one table of permitted status changes.
var allowed = map[Status][]Status{
	StatusQueued:      {StatusRunning, StatusCanceled, StatusFailed},
	StatusRunning:     {StatusCompleted, StatusFailed, StatusCanceled, StatusInterrupted},
	StatusInterrupted: {StatusQueued, StatusFailed, StatusCanceled},
	StatusCompleted:   nil,
	StatusFailed:      nil,
	StatusCanceled:    nil,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { _, ok := allowed[s]; return ok }

// Final reports whether no transition leaves s.
func (s Status) Final() bool { return s.Valid() && len(allowed[s]) == 0 }

// Active reports whether a job in s is waiting for or using a worker.
func (s Status) Active() bool { return s == StatusQueued || s == StatusRunning }

// CanTransition reports whether the table allows from -> to.
func CanTransition(from, to Status) bool { return slices.Contains(allowed[from], to) }

// Params are the request parameters of a pipeline run.
type Params struct {
	Split        string  `json:"split"`
	Model        string  `json:"model"`
	Budget       float64 `json:"budget"` // dollars
	RunSweep     bool    `json:"run_sweep"`
	RunScenarios bool    `json:"run_scenarios"`
}

// Same reports whether two requests ask for the same run.
func (p Params) Same(q Params) bool { return p == q }

// Transition is one recorded status change.
type Transition struct {
	From   Status    `json:"from"`
	To     Status    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Job is the stored record of one pipeline run.
type Job struct {
	ID     string `json:"id"` // UUIDv7, so ids sort by creation time
	Params Params `json:"params"`
	Status Status `json:"status"`

	// Phase is the phase being run or last run (1-4; 0 before the first).
	Phase int `json:"phase"`
	// PhaseName is the short name of Phase, such as "prepare".
	PhaseName string `json:"phase_name,omitempty"`
	// Progress is the share of the pipeline done, from 0 to 1.
	Progress float64 `json:"progress"`
	// PhasesDone is the number of phases whose artifacts were recorded.
	PhasesDone int `json:"phases_done"`
	// Attempts counts how often a worker started the job.
	Attempts int `json:"attempts"`

	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`

	Error   string `json:"error,omitempty"`
	RunDir  string `json:"run_dir"`  // relative to the data directory
	LogFile string `json:"log_file"` // relative to the data directory

	Transitions []Transition `json:"transitions"`
}

// MaxTransitions caps the stored history so a value stays small; the first
// entries are kept and the newest replace the oldest after the first.
const MaxTransitions = 64

// TransitionTo moves j to status to, appending the change to its history.
// A change the table forbids returns an error wrapping ErrInvalidTransition
// and leaves j unchanged.
func (j *Job) TransitionTo(to Status, at time.Time, reason string) error {
	if !CanTransition(j.Status, to) {
		return fmt.Errorf("%w: job %s from %s to %s", ErrInvalidTransition, j.ID, j.Status, to)
	}
	at = at.UTC()
	j.Transitions = append(j.Transitions, Transition{From: j.Status, To: to, At: at, Reason: reason})
	if len(j.Transitions) > MaxTransitions {
		j.Transitions = append(j.Transitions[:1], j.Transitions[len(j.Transitions)-MaxTransitions+1:]...)
	}
	j.Status = to
	j.UpdatedAt = at
	switch to {
	case StatusRunning:
		j.StartedAt = &at
		j.FinishedAt = nil
		j.Attempts++
		j.Error = ""
	case StatusCompleted, StatusFailed, StatusCanceled:
		j.FinishedAt = &at
	}
	if to == StatusCompleted {
		j.Progress = 1
	}
	return nil
}

// SetProgress records the phase and overall progress, clamped to [0, 1].
func (j *Job) SetProgress(phase int, name string, progress float64, at time.Time) {
	if math.IsNaN(progress) {
		progress = 0
	}
	j.Phase, j.PhaseName = phase, name
	j.Progress = min(max(progress, 0), 1)
	j.UpdatedAt = at.UTC()
}

// Artifact describes one file a phase wrote, for verification on resume and
// offline checks.
type Artifact struct {
	JobID     string    `json:"job_id"`
	Phase     int       `json:"phase"`
	Path      string    `json:"path"` // relative to the data directory
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// JobFilter selects jobs for List. Zero values select everything.
type JobFilter struct {
	Status Status // only this status when non-empty
	Before string // only ids that sort before this one (a cursor)
	Limit  int    // at most this many; 0 means no limit
}
