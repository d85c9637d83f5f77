package jobs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// RetentionPolicy selects the final jobs (completed, failed, canceled) a
// Pruner deletes. A job is deleted when either rule selects it. Queued,
// running and interrupted jobs are never deleted, and neither is the
// latest completed run.
type RetentionPolicy struct {
	// KeepJobs keeps the newest KeepJobs final jobs, by creation time, and
	// selects older ones. Zero turns the count rule off.
	KeepJobs int
	// MaxAge selects final jobs that finished more than MaxAge ago. Zero
	// turns the age rule off.
	MaxAge time.Duration
}

// Enabled reports whether any rule is on.
func (p RetentionPolicy) Enabled() bool { return p.KeepJobs > 0 || p.MaxAge > 0 }

// PrunedJob is the record a store keeps of a job that retention deleted,
// so a later lookup of its id can report when and why it was deleted.
type PrunedJob struct {
	ID         string     `json:"id"`
	Status     Status     `json:"status"` // status when deleted
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	PrunedAt   time.Time  `json:"pruned_at"`
	Reason     string     `json:"reason"`
	RunDir     string     `json:"run_dir"`  // relative to the data directory
	LogFile    string     `json:"log_file"` // relative to the data directory
}

// RetentionStore is a Store that can delete final jobs.
type RetentionStore interface {
	Store
	// DeleteJob deletes a final job with its log tail and artifact
	// records and stores a PrunedJob for it, in one transaction. A job
	// that is not final returns an error wrapping ErrNotFinished, and the
	// latest completed run one wrapping ErrLatestRun.
	DeleteJob(id string, at time.Time, reason string) (*PrunedJob, error)
	// PrunedJobs returns the records of deleted jobs, oldest id first.
	PrunedJobs() ([]*PrunedJob, error)
}

// PruneCounts reports what a Pruner did.
type PruneCounts struct {
	Deleted      int // jobs deleted from the store
	FilesRemoved int // log files and run folders removed
}

// Pruner applies a RetentionPolicy: it deletes old final jobs from the
// store, then their log files and run folders. Calls are serialised, so
// the worker hook and the start-up call never overlap.
//
// NOTE: campaign records of optimize calls on a deleted run are kept, but
// their files lived in the run folder and are deleted with it.
type Pruner struct {
	store   RetentionStore
	policy  RetentionPolicy
	dataDir string
	log     *slog.Logger

	mu sync.Mutex
}

// NewPruner returns a Pruner for the jobs of store whose files live below
// dataDir.
func NewPruner(store RetentionStore, policy RetentionPolicy, dataDir string, log *slog.Logger) *Pruner {
	return &Pruner{store: store, policy: policy, dataDir: dataDir, log: log}
}

// Prune deletes every final job the policy selects at time now. The store
// record goes first, so a crash before the files are removed leaves only
// files that Sweep removes at the next start. A job that changed between
// the listing and its deletion is skipped. Failures to remove files are
// logged, not returned.
func (p *Pruner) Prune(now time.Time) (PruneCounts, error) {
	var counts PruneCounts
	if !p.policy.Enabled() {
		return counts, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	all, err := p.store.Jobs(JobFilter{})
	if err != nil {
		return counts, fmt.Errorf("prune jobs: %w", err)
	}
	latestID := ""
	latest, err := p.store.Latest()
	switch {
	case err == nil:
		latestID = latest.ID
	case !errors.Is(err, ErrNoCompletedRun):
		return counts, fmt.Errorf("prune jobs: %w", err)
	}

	finalSeen := 0
	for _, j := range all { // newest first
		if !j.Status.Final() {
			continue
		}
		finalSeen++
		reason := p.selectReason(j, finalSeen, now)
		if reason == "" || j.ID == latestID {
			continue
		}
		pruned, err := p.store.DeleteJob(j.ID, now, reason)
		if errors.Is(err, ErrNotFinished) || errors.Is(err, ErrLatestRun) || errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return counts, fmt.Errorf("prune job %s: %w", j.ID, err)
		}
		counts.Deleted++
		p.log.Info("job deleted by retention", "job_id", j.ID, "status", j.Status, "reason", reason)
		counts.FilesRemoved += p.removeFiles(pruned)
	}
	return counts, nil
}

// selectReason returns why the policy deletes j, the rank-th newest final
// job, or "" when the policy keeps it.
func (p *Pruner) selectReason(j *Job, rank int, now time.Time) string {
	if p.policy.KeepJobs > 0 && rank > p.policy.KeepJobs {
		return fmt.Sprintf("retention keeps the newest %d finished jobs", p.policy.KeepJobs)
	}
	if p.policy.MaxAge > 0 {
		finished := j.UpdatedAt
		if j.FinishedAt != nil {
			finished = *j.FinishedAt
		}
		if now.Sub(finished) > p.policy.MaxAge {
			return fmt.Sprintf("retention deletes jobs that finished more than %s ago", p.policy.MaxAge)
		}
	}
	return ""
}

// Sweep removes the log files and run folders of deleted jobs that are
// still on disk, which happens when the process stopped between deleting
// a job's record and its files. It returns the number of paths removed.
func (p *Pruner) Sweep() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pruned, err := p.store.PrunedJobs()
	if err != nil {
		return 0, fmt.Errorf("sweep deleted jobs: %w", err)
	}
	removed := 0
	for _, pj := range pruned {
		removed += p.removeFiles(pj)
	}
	return removed, nil
}

// removeFiles deletes the log file and run folder of a deleted job and
// returns how many of the two existed. A path is removed only when it is
// inside the data directory and its last element contains the job id, so
// a damaged record cannot point the removal at another folder.
func (p *Pruner) removeFiles(pj *PrunedJob) int {
	removed := 0
	for _, rel := range []string{pj.LogFile, pj.RunDir} {
		if rel == "" {
			continue
		}
		if pj.ID == "" || !filepath.IsLocal(rel) || !strings.Contains(filepath.Base(rel), pj.ID) {
			p.log.Warn("not removing a path outside the job's own folder", "job_id", pj.ID, "path", rel)
			continue
		}
		full := filepath.Join(p.dataDir, rel)
		if _, err := os.Lstat(full); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(full); err != nil {
			p.log.Error("remove files of a deleted job", "job_id", pj.ID, "path", full, "err", err)
			continue
		}
		removed++
	}
	return removed
}
