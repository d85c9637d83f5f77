package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// fileTail reads a log tail from the file, bypassing the cache.
func fileTail(t *testing.T, s *Store, id string) string {
	t.Helper()
	var tail string
	if err := s.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(m.BucketLogs), []byte(id), &tail)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tail
}

func TestLogTailCacheFollowsWrites(t *testing.T) {
	s, _ := openTemp(t)
	j := newJob(t, testParams)
	if _, _, err := s.CreateJob(j); err != nil {
		t.Fatal(err)
	}
	check := func(step, want string) {
		t.Helper()
		got, err := s.LogTail(j.ID)
		if err != nil || got != want {
			t.Errorf("%s: LogTail = %q, %v, want %q", step, got, err, want)
		}
		if file := fileTail(t, s, j.ID); file != want {
			t.Errorf("%s: file holds %q, want %q", step, file, want)
		}
	}
	check("before any write", "")
	if err := s.SetLogTail(j.ID, "first"); err != nil {
		t.Fatal(err)
	}
	check("after the first write", "first")
	check("read again from the cache", "first")
	if err := s.SetLogTail(j.ID, "second"); err != nil {
		t.Fatal(err)
	}
	check("after the second write", "second")

	finishJob(t, s, jobs.StatusFailed)
	if _, err := s.DeleteJob(j.ID, time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	check("after the job was deleted", "")
}

// TestTailCacheSkipsStaleRead checks that a tail read before a write is
// not stored over the written one.
func TestTailCacheSkipsStaleRead(t *testing.T) {
	var c tailCache
	_, ok, gen := c.get("a")
	if ok {
		t.Fatal("empty cache returned a tail")
	}
	c.written("a", "new", false)
	c.put("a", "old", gen) // read before the write
	if got, ok, _ := c.get("a"); !ok || got != "new" {
		t.Errorf("cache holds %q (%v), want the written \"new\"", got, ok)
	}
	_, _, gen = c.get("b")
	c.put("b", "read", gen)
	if got, ok, _ := c.get("b"); !ok || got != "read" {
		t.Errorf("cache holds %q (%v), want \"read\"", got, ok)
	}
}
