package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// MaxPrunedRecords caps the records of deleted jobs. Past it, DeleteJob
// drops the records with the oldest ids, and a lookup of such an id then
// returns a plain "not found". A record is roughly 400 bytes of JSON (an
// estimate from its fields), so the cap bounds the bucket near 4 MB.
const MaxPrunedRecords = 10000

var _ jobs.RetentionStore = (*Store)(nil)

// DeleteJob implements jobs.RetentionStore.
func (s *Store) DeleteJob(id string, at time.Time, reason string) (*jobs.PrunedJob, error) {
	var out *jobs.PrunedJob
	err := s.db.Update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		if !j.Status.Final() {
			return fmt.Errorf("%w: job %s is %s", jobs.ErrNotFinished, id, j.Status)
		}
		var latest string
		if _, err := getJSON(tx.Bucket(m.BucketPointers), m.KeyLatest, &latest); err != nil {
			return err
		}
		if latest == id {
			return fmt.Errorf("%w: job %s", jobs.ErrLatestRun, id)
		}

		if err := tx.Bucket(m.BucketJobs).Delete([]byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(m.BucketLogs).Delete([]byte(id)); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(m.BucketArtifacts), []byte(id+"/")); err != nil {
			return err
		}

		out = &jobs.PrunedJob{
			ID:         j.ID,
			Status:     j.Status,
			CreatedAt:  j.CreatedAt,
			FinishedAt: j.FinishedAt,
			PrunedAt:   at.UTC(),
			Reason:     reason,
			RunDir:     j.RunDir,
			LogFile:    j.LogFile,
		}
		pruned := tx.Bucket(m.BucketPruned)
		if pruned == nil {
			return fmt.Errorf("bucket %s missing: the file was not migrated", m.BucketPruned)
		}
		if err := putJSON(pruned, []byte(id), out); err != nil {
			return err
		}
		return trimBucket(pruned, MaxPrunedRecords)
	})
	if err != nil {
		return nil, fmt.Errorf("delete job: %w", err)
	}
	if s.tails != nil {
		s.tails.written(id, "", true)
	}
	return out, nil
}

// PrunedJobs implements jobs.RetentionStore.
func (s *Store) PrunedJobs() ([]*jobs.PrunedJob, error) {
	var out []*jobs.PrunedJob
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(m.BucketPruned)
		if b == nil {
			return nil // a version 1 file opened read-only
		}
		return b.ForEach(func(k, v []byte) error {
			var p jobs.PrunedJob
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode deleted job %s: %w", k, err)
			}
			out = append(out, &p)
			return nil
		})
	})
	return out, err
}

// Pruned returns the record of a job that retention deleted, or an error
// wrapping jobs.ErrNotFound.
func (s *Store) Pruned(id string) (*jobs.PrunedJob, error) {
	var out *jobs.PrunedJob
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = getPruned(tx, id)
		return err
	})
	return out, err
}

func getPruned(tx *bolt.Tx, id string) (*jobs.PrunedJob, error) {
	b := tx.Bucket(m.BucketPruned)
	if b == nil {
		return nil, fmt.Errorf("deleted job %q: %w", id, jobs.ErrNotFound)
	}
	var p jobs.PrunedJob
	ok, err := getJSON(b, []byte(id), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("deleted job %q: %w", id, jobs.ErrNotFound)
	}
	return &p, nil
}

// notFoundError is the error of a job lookup that found no record. When
// the store has a record of the job's deletion, the message includes when
// and why retention deleted it.
func notFoundError(tx *bolt.Tx, id string) error {
	if p, err := getPruned(tx, id); err == nil {
		return fmt.Errorf("job %q was deleted by retention at %s (%s): %w",
			id, p.PrunedAt.Format(time.RFC3339), p.Reason, jobs.ErrNotFound)
	}
	return fmt.Errorf("job %q: %w", id, jobs.ErrNotFound)
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// trimBucket deletes the first keys of b until at most max remain. It
// counts with a cursor because Bucket.Stats misses uncommitted writes.
func trimBucket(b *bolt.Bucket, max int) error {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	over := n - max
	for k, _ := c.First(); k != nil && over > 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		over--
	}
	return nil
}
