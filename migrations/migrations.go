// Package migrations holds the bbolt schema: the bucket names and the
// numbered steps that create and change them. Apply runs the steps a file
// has not seen yet, each in its own write transaction, and records the
// version in the meta bucket.
package migrations

import (
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
)

// Bucket names. Keys are sortable strings and values are JSON, so the stock
// bbolt command-line tool shows the data readably.
var (
	// BucketMeta holds "schema_version" and "created_by".
	BucketMeta = []byte("meta")
	// BucketJobs maps a job id (UUIDv7) to its JSON record.
	BucketJobs = []byte("jobs")
	// BucketLogs maps a job id to a JSON string with its log tail.
	BucketLogs = []byte("job_logs")
	// BucketArtifacts maps "<job id>/<phase>/<path>" to artifact JSON.
	BucketArtifacts = []byte("artifacts")
	// BucketPointers maps "latest_completed" to the JSON job id.
	BucketPointers = []byte("pointers")
	// BucketCampaigns maps a campaign id (UUIDv7) to an optimize call's
	// JSON record.
	BucketCampaigns = []byte("campaigns")
	// BucketPruned maps the id of a job that retention deleted to a JSON
	// record of what it was and when it was deleted (added by migration 2).
	BucketPruned = []byte("pruned_jobs")
)

// KeySchemaVersion is the meta key holding the schema version as a JSON number.
var KeySchemaVersion = []byte("schema_version")

// KeyLatest is the pointers key of the latest completed run.
var KeyLatest = []byte("latest_completed")

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	Up      func(tx *bolt.Tx) error
}

// All lists every migration in version order; Latest is the last version.
var All = []Migration{
	{Version: 1, Name: "create buckets", Up: createBuckets},
	{Version: 2, Name: "add pruned_jobs bucket", Up: addPrunedBucket},
}

// Latest is the schema version this program writes.
func Latest() int { return All[len(All)-1].Version }

func createBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{BucketMeta, BucketJobs, BucketLogs, BucketArtifacts, BucketPointers, BucketCampaigns} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// addPrunedBucket creates the bucket where retention records the jobs it
// deletes, so a lookup of a deleted id can say why it is gone. Existing
// jobs, logs and artifacts are unchanged.
func addPrunedBucket(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(BucketPruned); err != nil {
		return fmt.Errorf("create bucket %s: %w", BucketPruned, err)
	}
	return nil
}

// Version returns the schema version recorded in tx, 0 for a new file.
func Version(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(BucketMeta)
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get(KeySchemaVersion)
	if raw == nil {
		return 0, nil
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("read schema version %q: %w", raw, err)
	}
	return v, nil
}

// Apply brings db to the latest version. A file written by a newer version
// returns an error wrapping jobs.ErrNewerSchema that names both versions.
// Each step and its version bump commit together, so a crash between steps
// leaves a file at a consistent older version.
func Apply(db *bolt.DB) (applied int, err error) {
	var current int
	if err := db.View(func(tx *bolt.Tx) error {
		current, err = Version(tx)
		return err
	}); err != nil {
		return 0, err
	}
	if current > Latest() {
		return 0, fmt.Errorf("%w: file has schema version %d, this program supports up to %d; use a newer ecomopti",
			jobs.ErrNewerSchema, current, Latest())
	}
	for _, m := range All {
		if m.Version <= current {
			continue
		}
		err := db.Update(func(tx *bolt.Tx) error {
			if err := m.Up(tx); err != nil {
				return err
			}
			meta, err := tx.CreateBucketIfNotExists(BucketMeta)
			if err != nil {
				return err
			}
			return meta.Put(KeySchemaVersion, []byte(strconv.Itoa(m.Version)))
		})
		if err != nil {
			return applied, fmt.Errorf("migration %03d (%s): %w", m.Version, m.Name, err)
		}
		applied++
	}
	return applied, nil
}
