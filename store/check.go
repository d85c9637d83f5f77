package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// CheckOptions set what Check verifies besides bbolt's page check and the
// stored records.
type CheckOptions struct {
	// VerifyArtifact checks that an artifact's file exists with its
	// recorded size and SHA-256. Nil skips the files, as for a backup
	// copy inspected away from its data directory.
	VerifyArtifact func(jobs.Artifact) error
	// Phases is the number of phases whose artifacts a completed run
	// records. Zero skips the checks that need it.
	Phases int
}

// CheckReport is the outcome of Check. Problems make the file
// inconsistent, while Notes are facts an operator may want to know.
type CheckReport struct {
	SchemaVersion     int
	Jobs              map[jobs.Status]int // job count by status
	Artifacts         int                 // artifact records
	ArtifactsVerified int                 // artifact files that matched their record
	LogTails          int
	Pruned            int    // records of jobs deleted by retention
	Latest            string // job id in the latest-run pointer, "" when none
	Problems          []string
	Notes             []string
}

// OK reports whether Check found no problem.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

// maxPageErrors caps the bbolt page errors listed. The rest are counted.
const maxPageErrors = 50

func (r *CheckReport) problemf(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *CheckReport) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Check runs bbolt's own consistency check (Tx.Check) and then checks the
// records. Every job must decode and have a valid status and history, and
// every log tail and artifact must belong to a job. The latest-run pointer
// must name a completed job with artifacts for every phase. When
// opts.VerifyArtifact is set, every artifact file must match its record.
// The records are read in one transaction and the files checked after it.
// An error means the check could not run. What it found is in the report.
func (s *Store) Check(opts CheckOptions) (*CheckReport, error) {
	r := &CheckReport{Jobs: map[jobs.Status]int{}}
	var arts []jobs.Artifact
	err := s.db.View(func(tx *bolt.Tx) error {
		r.checkPages(tx)
		r.checkSchema(tx)
		known := r.checkJobs(tx, opts.Phases)
		r.checkLogTails(tx, known)
		arts = r.checkArtifacts(tx, known, opts.Phases)
		r.checkPointer(tx, known, arts, opts.Phases)
		r.checkPruned(tx, known)
		r.checkCampaigns(tx)
		r.noteUnknownBuckets(tx)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", s.path, err)
	}
	if opts.VerifyArtifact == nil {
		return r, nil
	}
	for _, a := range arts {
		if err := opts.VerifyArtifact(a); err != nil {
			where := ""
			if a.JobID == r.Latest {
				where = " (latest completed run)"
			}
			r.problemf("artifact %s of job %s%s: %v", a.Path, a.JobID, where, err)
			continue
		}
		r.ArtifactsVerified++
	}
	return r, nil
}

// checkPages drains bbolt's page check. Tx.Check reads the transaction on
// its own goroutine, so nothing else may use tx until the channel closes.
func (r *CheckReport) checkPages(tx *bolt.Tx) {
	n := 0
	for err := range tx.Check() {
		n++
		if n <= maxPageErrors {
			r.problemf("bbolt: %v", err)
		}
	}
	if n > maxPageErrors {
		r.problemf("bbolt: %d more page errors not listed", n-maxPageErrors)
	}
}

func (r *CheckReport) checkSchema(tx *bolt.Tx) {
	if tx.Bucket(m.BucketMeta) == nil {
		r.problemf("bucket %s is missing: the file was never migrated", m.BucketMeta)
		return
	}
	v, err := m.Version(tx)
	if err != nil {
		r.problemf("meta: %v", err)
		return
	}
	r.SchemaVersion = v
	if v < m.Latest() {
		r.notef("schema version %d is older than %d; the next 'ecomopti serve' migrates it", v, m.Latest())
	}
}

// checkJobs checks every job record and returns the decoded jobs by id.
func (r *CheckReport) checkJobs(tx *bolt.Tx, phases int) map[string]*jobs.Job {
	known := map[string]*jobs.Job{}
	b := tx.Bucket(m.BucketJobs)
	if b == nil {
		r.problemf("bucket %s is missing", m.BucketJobs)
		return known
	}
	b.ForEach(func(k, v []byte) error {
		var j jobs.Job
		if err := json.Unmarshal(v, &j); err != nil {
			r.problemf("job %s: invalid JSON: %v", k, err)
			return nil
		}
		known[string(k)] = &j
		r.checkJob(string(k), &j, phases)
		return nil
	})
	return known
}

func (r *CheckReport) checkJob(key string, j *jobs.Job, phases int) {
	if j.ID != key {
		r.problemf("job %s: record has id %q", key, j.ID)
	}
	if !j.Status.Valid() {
		r.problemf("job %s: invalid status %q", key, j.Status)
		return
	}
	r.Jobs[j.Status]++
	if j.Status.Final() && j.FinishedAt == nil {
		r.problemf("job %s: %s but has no finish time", key, j.Status)
	}
	if phases > 0 && (j.PhasesDone < 0 || j.PhasesDone > phases) {
		r.problemf("job %s: phases_done %d is outside 0..%d", key, j.PhasesDone, phases)
	}
	if phases > 0 && j.Status == jobs.StatusCompleted && j.PhasesDone != phases {
		r.problemf("job %s: completed with phases_done %d of %d", key, j.PhasesDone, phases)
	}
	if j.Status == jobs.StatusRunning {
		r.notef("job %s is running but no server holds the file; the next start marks it interrupted", key)
	}
	r.checkHistory(key, j)
}

// checkHistory checks the recorded transitions against the table. The
// history keeps its first entry and the newest ones, so when it is full
// the step from entry 0 to entry 1 may skip the dropped middle.
func (r *CheckReport) checkHistory(key string, j *jobs.Job) {
	ts := j.Transitions
	for i, t := range ts {
		if i == 0 && t.From == "" {
			if t.To != jobs.StatusQueued {
				r.problemf("job %s: first transition goes to %s, want queued", key, t.To)
			}
			continue
		}
		if !jobs.CanTransition(t.From, t.To) {
			r.problemf("job %s: transition %d from %s to %s is not allowed", key, i, t.From, t.To)
		}
		gap := i == 1 && len(ts) >= jobs.MaxTransitions
		if i > 0 && !gap && ts[i-1].To != t.From {
			r.problemf("job %s: transition %d starts at %s but the previous one ended at %s", key, i, t.From, ts[i-1].To)
		}
	}
	if n := len(ts); n > 0 && ts[n-1].To != j.Status {
		r.problemf("job %s: status %s but the last transition ends at %s", key, j.Status, ts[n-1].To)
	}
}

func (r *CheckReport) checkLogTails(tx *bolt.Tx, known map[string]*jobs.Job) {
	b := tx.Bucket(m.BucketLogs)
	if b == nil {
		r.problemf("bucket %s is missing", m.BucketLogs)
		return
	}
	b.ForEach(func(k, v []byte) error {
		r.LogTails++
		var tail string
		if err := json.Unmarshal(v, &tail); err != nil {
			r.problemf("log tail %s: invalid JSON string: %v", k, err)
		} else if len(tail) > MaxLogTail {
			r.problemf("log tail %s: %d bytes, over the cap of %d", k, len(tail), MaxLogTail)
		}
		if known[string(k)] == nil {
			r.problemf("log tail %s: no job has this id", k)
		}
		return nil
	})
}

// checkArtifacts checks the artifact records and returns the valid ones,
// whose files Check verifies after the transaction.
func (r *CheckReport) checkArtifacts(tx *bolt.Tx, known map[string]*jobs.Job, phases int) []jobs.Artifact {
	b := tx.Bucket(m.BucketArtifacts)
	if b == nil {
		r.problemf("bucket %s is missing", m.BucketArtifacts)
		return nil
	}
	var out []jobs.Artifact
	b.ForEach(func(k, v []byte) error {
		r.Artifacts++
		var a jobs.Artifact
		if err := json.Unmarshal(v, &a); err != nil {
			r.problemf("artifact %s: invalid JSON: %v", k, err)
			return nil
		}
		ok := true
		if got := string(artifactKey(a)); got != string(k) {
			r.problemf("artifact %s: record belongs under key %s", k, got)
			ok = false
		}
		if known[a.JobID] == nil {
			r.problemf("artifact %s: no job has id %q", k, a.JobID)
			ok = false
		}
		if phases > 0 && (a.Phase < 1 || a.Phase > phases) {
			r.problemf("artifact %s: phase %d is outside 1..%d", k, a.Phase, phases)
			ok = false
		}
		if !filepath.IsLocal(filepath.FromSlash(a.Path)) {
			r.problemf("artifact %s: path %q is not inside the data directory", k, a.Path)
			ok = false
		}
		if sum, err := hex.DecodeString(a.SHA256); err != nil || len(sum) != 32 || a.Size < 0 {
			r.problemf("artifact %s: invalid size %d or SHA-256 %q", k, a.Size, a.SHA256)
			ok = false
		}
		if ok {
			out = append(out, a)
		}
		return nil
	})
	return out
}

func (r *CheckReport) checkPointer(tx *bolt.Tx, known map[string]*jobs.Job, arts []jobs.Artifact, phases int) {
	b := tx.Bucket(m.BucketPointers)
	if b == nil {
		r.problemf("bucket %s is missing", m.BucketPointers)
		return
	}
	b.ForEach(func(k, _ []byte) error {
		if string(k) != string(m.KeyLatest) {
			r.notef("pointers: unknown key %q", k)
		}
		return nil
	})
	var id string
	ok, err := getJSON(b, m.KeyLatest, &id)
	if err != nil {
		r.problemf("latest-run pointer: %v", err)
		return
	}
	if !ok {
		r.notef("no latest-run pointer: no run has completed")
		return
	}
	r.Latest = id

	j := known[id]
	switch {
	case j == nil:
		r.problemf("latest-run pointer names job %s, which does not exist", id)
		return
	case j.Status != jobs.StatusCompleted:
		r.problemf("latest-run pointer names job %s, which is %s, not completed", id, j.Status)
		return
	}

	var have []int
	for _, a := range arts {
		if a.JobID == id && !slices.Contains(have, a.Phase) {
			have = append(have, a.Phase)
		}
	}
	for p := 1; p <= phases; p++ {
		if !slices.Contains(have, p) {
			r.problemf("latest-run pointer names job %s, which has no artifacts for phase %d", id, p)
		}
	}
}

func (r *CheckReport) checkPruned(tx *bolt.Tx, known map[string]*jobs.Job) {
	b := tx.Bucket(m.BucketPruned)
	if b == nil {
		return // version 1 files have no such bucket
	}
	b.ForEach(func(k, v []byte) error {
		r.Pruned++
		var p jobs.PrunedJob
		if err := json.Unmarshal(v, &p); err != nil {
			r.problemf("deleted job %s: invalid JSON: %v", k, err)
			return nil
		}
		if p.ID != string(k) {
			r.problemf("deleted job %s: record has id %q", k, p.ID)
		}
		if known[string(k)] != nil {
			r.problemf("deleted job %s: a job record with this id still exists", k)
		}
		return nil
	})
}

func (r *CheckReport) checkCampaigns(tx *bolt.Tx) {
	b := tx.Bucket(m.BucketCampaigns)
	if b == nil {
		r.problemf("bucket %s is missing", m.BucketCampaigns)
		return
	}
	b.ForEach(func(k, v []byte) error {
		if !json.Valid(v) {
			r.problemf("campaign %s: invalid JSON", k)
		}
		return nil
	})
}

func (r *CheckReport) noteUnknownBuckets(tx *bolt.Tx) {
	known := [][]byte{m.BucketMeta, m.BucketJobs, m.BucketLogs, m.BucketArtifacts, m.BucketPointers, m.BucketCampaigns, m.BucketPruned}
	tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !slices.ContainsFunc(known, func(k []byte) bool { return string(k) == string(name) }) {
			r.notef("bucket %s is not part of schema version %d", name, m.Latest())
		}
		return nil
	})
}
