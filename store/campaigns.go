package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// Campaign statuses.
const (
	CampaignComplete = "complete"
	CampaignFailed   = "failed"
	// CampaignTimedOut marks a call that passed its time limit.
	CampaignTimedOut = "timed_out"
	// CampaignCanceled marks a call whose client went away.
	CampaignCanceled = "canceled"
)

// MaxCampaignBytes caps the JSON of one campaign record. A record with
// full metrics and four file paths takes roughly 1.5 kB.
const MaxCampaignBytes = 64 << 10

// CampaignHistoryDefault is the number of campaign records kept when the
// caller sets no limit of its own; older records are deleted first.
const CampaignHistoryDefault = 10_000

// Campaign is the stored record of one budget optimisation call: the
// request, its outcome and the files it wrote.
type Campaign struct {
	// ID is a UUIDv7, so records sort by creation time.
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// RunID is the pipeline run whose artifacts were optimised; empty when
	// the call failed before finding one.
	RunID  string  `json:"run_id,omitempty"`
	Split  string  `json:"split"`
	Model  string  `json:"model"`
	Budget float64 `json:"budget"` // dollars

	// Status is CampaignComplete, CampaignFailed, CampaignTimedOut or
	// CampaignCanceled. Error gives the reason for the last three.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`

	Solver  string `json:"solver,omitempty"`
	Optimal bool   `json:"optimal"`
	// Cached is true when the call reused the result of an identical
	// earlier call instead of solving again.
	Cached bool `json:"cached"`
	// Metrics is the optimisation's metrics object, stored as the
	// optimiser encoded it.
	Metrics json.RawMessage `json:"metrics,omitempty"`
	// Files maps an output kind (crm_export, report, ...) to its path
	// relative to the data directory, in slash form.
	Files map[string]string `json:"files,omitempty"`

	DurationMS float64 `json:"duration_ms"`
}

// CampaignFilter selects campaign records for Campaigns.
type CampaignFilter struct {
	// Limit caps the records returned, and 0 means no cap.
	Limit int
	// Before, when set, keeps only records with an id below it, so the
	// last id of one page fetches the next page.
	Before string
}

// AddCampaigns stores the records in one transaction and then deletes
// the oldest records until at most keep remain (keep <= 0 keeps all). It
// returns how many were deleted. A record without an id, with an id
// already stored, or whose JSON exceeds MaxCampaignBytes fails the whole
// call, and nothing is stored.
//
// The bucket's sequence number holds the record count, so pruning costs
// one deletion per removed record instead of a scan of the bucket.
func (s *Store) AddCampaigns(cs []*Campaign, keep int) (pruned int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(m.BucketCampaigns)
		if b == nil {
			return fmt.Errorf("bucket %s missing: the file was not migrated", m.BucketCampaigns)
		}
		count, err := campaignCount(b)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := putCampaign(b, c, true); err != nil {
				return err
			}
			count++
		}
		for keep > 0 && count > uint64(keep) {
			k, _ := b.Cursor().First()
			if k == nil {
				break
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			count--
			pruned++
		}
		return b.SetSequence(count)
	})
	if err != nil {
		return 0, fmt.Errorf("add campaigns: %w", err)
	}
	return pruned, nil
}

// campaignCount returns the number of records in b. It trusts the
// bucket's sequence number, unless that is zero for a bucket with records.
// Only records written without AddCampaigns leave it so, and then it
// counts them.
func campaignCount(b *bolt.Bucket) (uint64, error) {
	if n := b.Sequence(); n > 0 {
		return n, nil
	}
	var n uint64
	err := b.ForEach(func(_, _ []byte) error { n++; return nil })
	return n, err
}

// putCampaign encodes c into b. With isNew set, an id already in b is an
// error.
func putCampaign(b *bolt.Bucket, c *Campaign, isNew bool) error {
	if c.ID == "" {
		return errors.New("campaign record has no id")
	}
	if isNew && b.Get([]byte(c.ID)) != nil {
		return fmt.Errorf("campaign %s already exists", c.ID)
	}
	if len(c.Error) > MaxErrorText {
		c.Error = truncateUTF8(c.Error, MaxErrorText)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode campaign %s: %w", c.ID, err)
	}
	if len(raw) > MaxCampaignBytes {
		return fmt.Errorf("campaign %s: record is %d bytes, the limit is %d", c.ID, len(raw), MaxCampaignBytes)
	}
	return b.Put([]byte(c.ID), raw)
}

// Campaign returns the record with the given id, or an error wrapping
// jobs.ErrNotFound.
func (s *Store) Campaign(id string) (*Campaign, error) {
	var c Campaign
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(m.BucketCampaigns), []byte(id), &c)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("campaign %q: %w; it may be older than the kept history", id, jobs.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Campaigns returns the records that match f, newest first.
func (s *Store) Campaigns(f CampaignFilter) ([]*Campaign, error) {
	var out []*Campaign
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(m.BucketCampaigns).Cursor()
		var k, v []byte
		if f.Before == "" {
			k, v = c.Last()
		} else {
			// Seek lands on the first key >= Before, so step back from
			// it, or start at the last key when every key is below Before.
			if k, v = c.Seek([]byte(f.Before)); k == nil {
				k, v = c.Last()
			}
			for k != nil && string(k) >= f.Before {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			var rec Campaign
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode campaign %s: %w", k, err)
			}
			out = append(out, &rec)
			if f.Limit > 0 && len(out) >= f.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return out, nil
}

// CampaignCount returns the number of stored campaign records.
func (s *Store) CampaignCount() (int, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = campaignCount(tx.Bucket(m.BucketCampaigns))
		return err
	})
	return int(n), err
}

// SetCampaignFiles adds files to the record with the given id, replacing
// entries of the same kind, and returns the updated record. An unknown id
// is an error wrapping jobs.ErrNotFound.
func (s *Store) SetCampaignFiles(id string, files map[string]string) (*Campaign, error) {
	var c Campaign
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(m.BucketCampaigns)
		ok, err := getJSON(b, []byte(id), &c)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("campaign %q: %w", id, jobs.ErrNotFound)
		}
		if c.Files == nil {
			c.Files = make(map[string]string, len(files))
		}
		for kind, path := range files {
			c.Files[kind] = path
		}
		return putCampaign(b, &c, false)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}
