package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
	"github.com/ecomopti/ecomopti/store"
)

func TestDBDumpJSONLines(t *testing.T) {
	f := newDBFixture(t)
	// A value that is not JSON must still come out as a valid line.
	st, err := store.Open(filepath.Join(f.dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.DB().Update(func(tx *bolt.Tx) error {
		return tx.Bucket(m.BucketCampaigns).Put([]byte("raw"), []byte("not json\n"))
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, "db", "dump", "--data-dir", f.dir)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	counts := map[string]int{}
	var buckets []string
	for i, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		var d dumpLine
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, line)
		}
		if counts[d.Bucket] == 0 {
			buckets = append(buckets, d.Bucket)
		}
		counts[d.Bucket]++
		switch {
		case d.Bucket == "jobs" && d.Key == f.done.ID:
			var j jobs.Job
			if err := json.Unmarshal(d.Value, &j); err != nil || j.Status != jobs.StatusCompleted {
				t.Errorf("jobs value of the completed run = %+v, %v", j.Status, err)
			}
		case d.Bucket == "campaigns" && d.Key == "raw":
			if d.Value != nil || d.ValueText == nil || *d.ValueText != "not json\n" {
				t.Errorf("non-JSON value dumped as %+v", d)
			}
		case d.Bucket == "meta" && d.Key == string(m.KeySchemaVersion):
			if string(d.Value) != "2" {
				t.Errorf("schema version %s", d.Value)
			}
		}
	}
	want := map[string]int{"artifacts": 4, "campaigns": 1, "job_logs": 1, "jobs": 3, "meta": 1, "pointers": 1}
	for b, n := range want {
		if counts[b] != n {
			t.Errorf("bucket %s has %d lines, want %d", b, counts[b], n)
		}
	}
	if strings.Join(buckets, ",") != "artifacts,campaigns,job_logs,jobs,meta,pointers" {
		t.Errorf("bucket order %v", buckets)
	}

	code, stdout, _ = runCLI(t, "db", "dump", "--data-dir", f.dir, "--bucket", "pointers")
	if code != exitOK || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, f.done.ID) {
		t.Errorf("--bucket pointers printed:\n%s", stdout)
	}
}
