// Package store keeps jobs, log tails, artifacts, the latest-run pointer and
// campaign history in one bbolt file. It implements jobs.Store. Each
// exported method runs exactly one bbolt transaction; the helpers it calls
// take the *bolt.Tx, so no transaction is ever opened inside another.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// Limits on stored values, so no record grows without bound.
const (
	// MaxLogTail is the size of the stored log tail of a job.
	MaxLogTail = 16 << 10
	// MaxErrorText is the longest stored job error message.
	MaxErrorText = 4 << 10
)

// OpenTimeout is how long Open waits for the file lock of another process.
const OpenTimeout = time.Second

// FileName is the database file name inside the data directory.
const FileName = "ecomopti.db"

// Store is a bbolt-backed jobs.Store.
type Store struct {
	db   *bolt.DB
	path string

	// latest is a copy of the latest completed job, so Latest needs no
	// transaction and no decoding. A writable store holds the file's
	// exclusive lock, so no other process can change the file while it is
	// open. Every write of this process that can change the latest job or
	// the pointer to it (Complete and UpdateJob) updates the copy while it
	// holds latestMu. It is nil for a read-only store, which reads the
	// file on every call.
	latest   atomic.Pointer[latestJob]
	latestMu sync.Mutex

	// tails is used by a writable store only, for the same reason.
	tails *tailCache
}

// latestJob is the cached outcome of Latest: job is nil when no run has
// completed.
type latestJob struct{ job *jobs.Job }

// maxCachedTails bounds the log tails a Store keeps decoded. At the
// MaxLogTail cap each, a full cache holds 4 MiB.
const maxCachedTails = 256

// tailCache keeps decoded log tails, because GET /pipeline/status reads
// the tail on every call and decoding 16 KiB of JSON text costs more than
// the rest of that read. Like the latest job, it relies on this process
// being the only writer: SetLogTail and DeleteJob update it after their
// transaction. gen counts those updates, so a LogTail that read the file
// before one of them does not store what it read.
type tailCache struct {
	mu    sync.Mutex
	gen   uint64
	tails map[string]string
}

// get returns a cached tail and the generation to pass to put.
func (c *tailCache) get(id string) (tail string, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail, ok = c.tails[id]
	return tail, ok, c.gen
}

// put stores a tail read from the file unless a write happened since gen.
func (c *tailCache) put(id, tail string, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.tails == nil || len(c.tails) >= maxCachedTails {
		c.tails = map[string]string{}
	}
	c.tails[id] = tail
}

// written records a committed write of id's tail; deleted is true when
// the tail was removed.
func (c *tailCache) written(id, tail string, deleted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if deleted {
		delete(c.tails, id)
		return
	}
	if c.tails == nil || len(c.tails) >= maxCachedTails {
		c.tails = map[string]string{}
	}
	c.tails[id] = tail
}

var _ jobs.Store = (*Store)(nil)

// Options set how the file is opened.
type Options struct {
	// ReadOnly opens the file with a shared lock and applies no migration;
	// for offline inspection.
	ReadOnly bool
	// Timeout is the wait for another process's lock (default OpenTimeout).
	Timeout time.Duration
}

// Open opens or creates the database at path and migrates it to the latest
// schema. A file held by another process returns an error wrapping
// jobs.ErrLocked after the timeout; a file from a newer program returns one
// wrapping jobs.ErrNewerSchema.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = OpenTimeout
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, ReadOnly: opts.ReadOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w (is an ecomopti server running on this data directory? stop it, or inspect a copy downloaded from the server's GET /admin/backup)",
			path, jobs.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if opts.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error {
			v, err := m.Version(tx)
			if err != nil {
				return err
			}
			if v > m.Latest() {
				return fmt.Errorf("%w: file has schema version %d, this program supports up to %d",
					jobs.ErrNewerSchema, v, m.Latest())
			}
			return nil
		})
	} else {
		_, err = m.Apply(db)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if !opts.ReadOnly {
		s.loadLatest()
		s.tails = &tailCache{}
	}
	return s, nil
}

// loadLatest fills the cached latest job from the file. When the record
// cannot be read, the cache stays empty and Latest keeps reading the file,
// so it returns the read error to every caller.
func (s *Store) loadLatest() {
	job, err := s.readLatest()
	switch {
	case errors.Is(err, jobs.ErrNoCompletedRun):
		s.latest.Store(&latestJob{})
	case err == nil:
		s.latest.Store(&latestJob{job: job})
	}
}

// Close closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Path returns the file path.
func (s *Store) Path() string { return s.path }

// DB returns the underlying handle for offline tools (check, dump, backup).
func (s *Store) DB() *bolt.DB { return s.db }

// Ping checks that a read transaction works and the schema is present.
func (s *Store) Ping() error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(m.BucketJobs) == nil {
			return errors.New("jobs bucket missing")
		}
		return nil
	})
}

// getJSON decodes the value at key into v inside tx, so no byte slice
// outlives the transaction. It returns false when the key is absent.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, raw)
}

func getJob(tx *bolt.Tx, id string) (*jobs.Job, error) {
	var j jobs.Job
	ok, err := getJSON(tx.Bucket(m.BucketJobs), []byte(id), &j)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFoundError(tx, id)
	}
	return &j, nil
}

func putJob(tx *bolt.Tx, j *jobs.Job) error {
	if len(j.Error) > MaxErrorText {
		j.Error = truncateUTF8(j.Error, MaxErrorText)
	}
	return putJSON(tx.Bucket(m.BucketJobs), []byte(j.ID), j)
}

// truncateUTF8 cuts s to at most n bytes at a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CreateJob implements jobs.Store.
func (s *Store) CreateJob(j *jobs.Job) (*jobs.Job, bool, error) {
	if j.Status != jobs.StatusQueued {
		return nil, false, fmt.Errorf("create job %s: status %s, want queued", j.ID, j.Status)
	}
	var out *jobs.Job
	created := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		var dup *jobs.Job
		err := eachJob(tx, func(other *jobs.Job) bool {
			if other.Status.Active() && other.Params.Same(j.Params) {
				dup = other
				return false
			}
			return true
		})
		if err != nil {
			return err
		}
		if dup != nil {
			out = dup
			return nil
		}
		if tx.Bucket(m.BucketJobs).Get([]byte(j.ID)) != nil {
			return fmt.Errorf("job %s already exists", j.ID)
		}
		if err := putJob(tx, j); err != nil {
			return err
		}
		c := *j
		out, created = &c, true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("create job: %w", err)
	}
	return out, created, nil
}

// eachJob calls fn for every job, newest first, until fn returns false.
func eachJob(tx *bolt.Tx, fn func(*jobs.Job) bool) error {
	c := tx.Bucket(m.BucketJobs).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var j jobs.Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("decode job %s: %w", k, err)
		}
		if !fn(&j) {
			return nil
		}
	}
	return nil
}

// Job implements jobs.Store.
func (s *Store) Job(id string) (*jobs.Job, error) {
	var j *jobs.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx, id)
		return err
	})
	return j, err
}

// Jobs implements jobs.Store.
func (s *Store) Jobs(f jobs.JobFilter) ([]*jobs.Job, error) {
	var out []*jobs.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachJob(tx, func(j *jobs.Job) bool {
			if f.Before != "" && j.ID >= f.Before {
				return true
			}
			if f.Status != "" && j.Status != f.Status {
				return true
			}
			out = append(out, j)
			return f.Limit <= 0 || len(out) < f.Limit
		})
	})
	return out, err
}

// UpdateJob implements jobs.Store.
func (s *Store) UpdateJob(id string, fn func(*jobs.Job) error) (*jobs.Job, error) {
	s.latestMu.Lock()
	defer s.latestMu.Unlock()
	var out *jobs.Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		if err := fn(j); err != nil {
			return err
		}
		out = j
		return putJob(tx, j)
	})
	if err == nil {
		if c := s.latest.Load(); c != nil && c.job != nil && c.job.ID == id {
			s.latest.Store(&latestJob{job: cloneJob(out)})
		}
	}
	return out, err
}

// ClaimNext implements jobs.Store. Job ids are UUIDv7, so the first queued
// key in order is the oldest queued job.
func (s *Store) ClaimNext(at time.Time, reason string) (*jobs.Job, error) {
	var out *jobs.Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(m.BucketJobs).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var j jobs.Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decode job %s: %w", k, err)
			}
			if j.Status != jobs.StatusQueued {
				continue
			}
			if err := j.TransitionTo(jobs.StatusRunning, at, reason); err != nil {
				return err
			}
			out = &j
			return putJob(tx, &j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim job: %w", err)
	}
	return out, nil
}

// Complete implements jobs.Store.
func (s *Store) Complete(id string, at time.Time, reason string) (*jobs.Job, error) {
	s.latestMu.Lock()
	defer s.latestMu.Unlock()
	var out *jobs.Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		if err := j.TransitionTo(jobs.StatusCompleted, at, reason); err != nil {
			return err
		}
		if err := putJob(tx, j); err != nil {
			return err
		}
		out = j
		return putJSON(tx.Bucket(m.BucketPointers), m.KeyLatest, j.ID)
	})
	if err == nil && s.latest.Load() != nil {
		s.latest.Store(&latestJob{job: cloneJob(out)})
	}
	return out, err
}

// Latest implements jobs.Store. A writable store returns a copy of its
// cached latest job, so callers may change what they get.
func (s *Store) Latest() (*jobs.Job, error) {
	if c := s.latest.Load(); c != nil {
		if c.job == nil {
			return nil, jobs.ErrNoCompletedRun
		}
		return cloneJob(c.job), nil
	}
	return s.readLatest()
}

// cloneJob returns a deep copy of j, so callers may change what they get.
func cloneJob(j *jobs.Job) *jobs.Job {
	c := *j
	if j.StartedAt != nil {
		t := *j.StartedAt
		c.StartedAt = &t
	}
	if j.FinishedAt != nil {
		t := *j.FinishedAt
		c.FinishedAt = &t
	}
	c.Transitions = slices.Clone(j.Transitions)
	return &c
}

// readLatest reads the latest completed job from the file.
func (s *Store) readLatest() (*jobs.Job, error) {
	var out *jobs.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		var id string
		ok, err := getJSON(tx.Bucket(m.BucketPointers), m.KeyLatest, &id)
		if err != nil {
			return err
		}
		if !ok {
			return jobs.ErrNoCompletedRun
		}
		out, err = getJob(tx, id)
		return err
	})
	return out, err
}

// SetLogTail implements jobs.Store.
func (s *Store) SetLogTail(id, tail string) error {
	if over := len(tail) - MaxLogTail; over > 0 {
		for over < len(tail) && !utf8.RuneStart(tail[over]) {
			over++
		}
		tail = tail[over:]
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(m.BucketLogs), []byte(id), tail)
	})
	if err == nil && s.tails != nil {
		s.tails.written(id, tail, false)
	}
	return err
}

// LogTail implements jobs.Store.
func (s *Store) LogTail(id string) (string, error) {
	var gen uint64
	if s.tails != nil {
		tail, ok, g := s.tails.get(id)
		if ok {
			return tail, nil
		}
		gen = g
	}
	var tail string
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(m.BucketLogs), []byte(id), &tail)
		return err
	})
	if err == nil && s.tails != nil {
		s.tails.put(id, tail, gen)
	}
	return tail, err
}

func artifactKey(a jobs.Artifact) []byte {
	return []byte(fmt.Sprintf("%s/%d/%s", a.JobID, a.Phase, a.Path))
}

// PutArtifacts implements jobs.Store.
func (s *Store) PutArtifacts(arts []jobs.Artifact) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(m.BucketArtifacts)
		for _, a := range arts {
			if err := putJSON(b, artifactKey(a), a); err != nil {
				return err
			}
		}
		return nil
	})
}

// Artifacts implements jobs.Store; they come ordered by phase and path.
func (s *Store) Artifacts(jobID string) ([]jobs.Artifact, error) {
	var out []jobs.Artifact
	prefix := []byte(jobID + "/")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(m.BucketArtifacts).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var a jobs.Artifact
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode artifact %s: %w", k, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// DeleteArtifacts implements jobs.Store.
func (s *Store) DeleteArtifacts(jobID string, phase int) error {
	prefix := []byte(fmt.Sprintf("%s/%d/", jobID, phase))
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(m.BucketArtifacts).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}
