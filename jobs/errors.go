package jobs

import "errors"

var (
	// ErrNotFound is returned when no job or record has the requested id.
	ErrNotFound = errors.New("not found")
	// ErrInvalidTransition is returned for a status change the table forbids.
	ErrInvalidTransition = errors.New("invalid status transition")
	// ErrNoCompletedRun is returned when no pipeline run has completed yet.
	ErrNoCompletedRun = errors.New("no completed pipeline run")
	// ErrLocked is returned when another process holds the database file.
	ErrLocked = errors.New("database file is locked by another process")
	// ErrNewerSchema is returned for a database written by a newer version.
	ErrNewerSchema = errors.New("database schema is newer than this program")
)

// ErrFinished is returned when an operation needs an unfinished job.
var ErrFinished = errors.New("job already finished")

// ErrNotFinished is returned when an operation needs a final job, such as
// deleting one.
var ErrNotFinished = errors.New("job has not finished")

// ErrLatestRun is returned when an operation would delete the latest
// completed run, which the optimizer and health checks read.
var ErrLatestRun = errors.New("job is the latest completed run")
