package main

import (
	"log/slog"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// DefaultKeepJobs is the default of serve --keep-jobs. A run folder holds
// about 1 MB for the built-in 2,000-row sample and 3 MB for the 7,043-row
// Telco file (measured with du on runs/<job id>), so 100 runs bound the
// disk use at a few hundred MB while keeping two pages of the job list.
const DefaultKeepJobs = 100

// startRetention removes leftover files of jobs deleted before a crash,
// applies the policy once, and returns the worker hook that applies it
// again after each finished job. Failures are logged, never returned:
// retention must not stop the server.
func startRetention(st jobs.RetentionStore, policy jobs.RetentionPolicy, dataDir string, log *slog.Logger) func(jobID string) {
	p := jobs.NewPruner(st, policy, dataDir, log)
	if n, err := p.Sweep(); err != nil {
		log.Error("remove leftover files of deleted jobs", "err", err)
	} else if n > 0 {
		log.Info("removed leftover files of deleted jobs", "paths", n)
	}
	if policy.Enabled() {
		log.Info("retention on", "keep_jobs", policy.KeepJobs, "max_age", policy.MaxAge.String())
	}
	prune := func(trigger string) {
		counts, err := p.Prune(time.Now())
		if err != nil {
			log.Error("apply retention", "trigger", trigger, "err", err)
			return
		}
		if counts.Deleted > 0 {
			log.Info("retention deleted jobs", "trigger", trigger, "jobs", counts.Deleted, "paths_removed", counts.FilesRemoved)
		}
	}
	prune("start-up")
	return func(string) { prune("job finished") }
}
