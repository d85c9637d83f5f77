package jobs

import "time"

// Store keeps jobs, their log tails, artifacts and the latest-run pointer.
// Every method is one atomic transaction. Methods that look a job up return
// an error wrapping ErrNotFound when the id is unknown.
type Store interface {
	// CreateJob stores j, which must be queued, unless a queued or running
	// job has the same Params; then it returns that job and false.
	CreateJob(j *Job) (*Job, bool, error)
	// Job returns the job with the given id.
	Job(id string) (*Job, error)
	// Jobs returns the jobs that match f, newest first.
	Jobs(f JobFilter) ([]*Job, error)
	// UpdateJob applies fn to the stored job and saves the result; when fn
	// returns an error nothing is saved and that error is returned.
	UpdateJob(id string, fn func(*Job) error) (*Job, error)
	// ClaimNext moves the oldest queued job to running and returns it, or
	// returns nil when no job is queued.
	ClaimNext(at time.Time, reason string) (*Job, error)
	// Complete moves a running job to completed and points the latest-run
	// pointer at it, in one transaction.
	Complete(id string, at time.Time, reason string) (*Job, error)
	// SetLogTail replaces the stored tail of a job's log; the store keeps
	// at most its own cap, dropping the oldest text.
	SetLogTail(id, tail string) error
	// LogTail returns the stored tail of a job's log ("" when none).
	LogTail(id string) (string, error)
	// PutArtifacts records files written by a phase.
	PutArtifacts(arts []Artifact) error
	// Artifacts returns the recorded files of a job, ordered by phase and path.
	Artifacts(jobID string) ([]Artifact, error)
	// DeleteArtifacts removes the artifact records of one phase of a job.
	DeleteArtifacts(jobID string, phase int) error
	// Latest returns the latest completed job, or ErrNoCompletedRun.
	Latest() (*Job, error)
	// Ping checks that the database can be read.
	Ping() error
}
