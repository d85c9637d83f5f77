package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	m "github.com/ecomopti/ecomopti/migrations"
)

func TestDumpVisitsEveryBucketInOrder(t *testing.T) {
	b := setupCheck(t)
	err := b.store.db.Update(func(tx *bolt.Tx) error {
		nested, err := tx.Bucket(m.BucketCampaigns).CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		return nested.Put([]byte("k"), []byte(`"v"`))
	})
	if err != nil {
		t.Fatal(err)
	}
	var buckets []string
	keys := map[string][]string{}
	err = b.store.Dump(func(bucket string, key, value []byte) error {
		if !slices.Contains(buckets, bucket) {
			buckets = append(buckets, bucket)
		}
		keys[bucket] = append(keys[bucket], string(key))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"artifacts", "campaigns/nested", "job_logs", "jobs", "meta", "pointers"}
	if !slices.Equal(buckets, want) {
		t.Errorf("buckets with keys %v, want %v", buckets, want)
	}
	if n := len(keys["artifacts"]); n != 4 {
		t.Errorf("%d artifact keys, want 4", n)
	}
	if !slices.IsSorted(keys["jobs"]) || len(keys["jobs"]) != 2 {
		t.Errorf("job keys %v, want 2 in order", keys["jobs"])
	}
	if !slices.Contains(keys["meta"], string(m.KeySchemaVersion)) {
		t.Errorf("meta keys %v lack the schema version", keys["meta"])
	}

	// An error from the callback stops the walk and comes back.
	stop := errors.New("stop")
	calls := 0
	err = b.store.Dump(func(string, []byte, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Dump with a failing callback = %v after %d calls", fmt.Sprint(err), calls)
	}
}
