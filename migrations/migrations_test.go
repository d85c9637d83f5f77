package migrations

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
)

func openTemp(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "test.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func version(t *testing.T, db *bolt.DB) int {
	t.Helper()
	var v int
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = Version(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestApplyNewFileCreatesEveryBucket(t *testing.T) {
	db := openTemp(t)
	applied, err := Apply(db)
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(All) {
		t.Errorf("applied %d steps, want %d", applied, len(All))
	}
	if v := version(t, db); v != Latest() {
		t.Errorf("version %d, want %d", v, Latest())
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{BucketMeta, BucketJobs, BucketLogs, BucketArtifacts, BucketPointers, BucketCampaigns, BucketPruned} {
			if tx.Bucket(name) == nil {
				t.Errorf("bucket %s missing", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A second Apply has nothing to do.
	applied, err = Apply(db)
	if err != nil || applied != 0 {
		t.Errorf("second Apply = %d, %v; want 0, nil", applied, err)
	}
}

func TestApplyVersionsAreConsecutive(t *testing.T) {
	for i, m := range All {
		if m.Version != i+1 {
			t.Errorf("All[%d] has version %d, want %d", i, m.Version, i+1)
		}
		if m.Name == "" || m.Up == nil {
			t.Errorf("migration %d lacks a name or a step", m.Version)
		}
	}
}

// TestApplyFailedStepKeepsVersion checks that a step and its version bump
// commit together: a failing step leaves neither its changes nor a new
// version behind, and the steps before it stay applied.
func TestApplyFailedStepKeepsVersion(t *testing.T) {
	saved := All
	t.Cleanup(func() { All = saved })
	probe := []byte("probe")
	All = append(append([]Migration(nil), saved...), Migration{
		Version: len(saved) + 1,
		Name:    "failing step",
		Up: func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucket(probe); err != nil {
				return err
			}
			return errors.New("disk on fire")
		},
	})

	db := openTemp(t)
	applied, err := Apply(db)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Apply err = %v, want the step's error", err)
	}
	if !strings.Contains(err.Error(), "failing step") {
		t.Errorf("error %q does not name the step", err)
	}
	if applied != len(saved) {
		t.Errorf("applied %d steps before the failure, want %d", applied, len(saved))
	}
	if v := version(t, db); v != len(saved) {
		t.Errorf("version after failed step %d, want %d", v, len(saved))
	}
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(probe) != nil {
			t.Error("the failed step's bucket was committed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestApplyRejectsNewerFile(t *testing.T) {
	db := openTemp(t)
	if _, err := Apply(db); err != nil {
		t.Fatal(err)
	}
	newer := Latest() + 5
	err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(BucketMeta).Put(KeySchemaVersion, []byte(strconv.Itoa(newer)))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(db)
	if !errors.Is(err, jobs.ErrNewerSchema) {
		t.Fatalf("Apply on a newer file err = %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{"version " + strconv.Itoa(newer), "up to " + strconv.Itoa(Latest())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

func TestVersionRejectsGarbage(t *testing.T) {
	db := openTemp(t)
	if _, err := Apply(db); err != nil {
		t.Fatal(err)
	}
	err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(BucketMeta).Put(KeySchemaVersion, []byte(`"two"`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(db); err == nil || !strings.Contains(err.Error(), "schema version") {
		t.Errorf("Apply with an unreadable version err = %v", err)
	}
}
