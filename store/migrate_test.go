package store

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

var update = flag.Bool("update", false, "rewrite testdata/migrations/v1.db from the fixture in migrate_test.go")

// v1File is a database written at schema version 1, before the
// pruned_jobs bucket existed.
var v1File = filepath.Join("..", "testdata", "migrations", "v1.db")

// v1Fixture returns the records stored in v1File: a completed run with
// artifacts, a log tail and the latest-run pointer, a failed run and an
// interrupted one.
func v1Fixture() ([]*jobs.Job, []jobs.Artifact, map[string]string) {
	at := func(min int) time.Time { return time.Date(2026, 3, 1, 9, min, 0, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
	params := jobs.Params{Split: "test", Model: "ensemble", Budget: 2500}
	done := &jobs.Job{
		ID: "01955a00-0000-7000-8000-000000000001", Params: params, Status: jobs.StatusCompleted,
		Phase: 4, PhaseName: "optimize", Progress: 1, PhasesDone: 4, Attempts: 1,
		CreatedAt: at(0), StartedAt: ptr(at(1)), FinishedAt: ptr(at(3)), UpdatedAt: at(3),
		RunDir: "runs/01955a00-0000-7000-8000-000000000001", LogFile: "logs/pipeline_01955a00-0000-7000-8000-000000000001.log",
		Transitions: []jobs.Transition{
			{To: jobs.StatusQueued, At: at(0), Reason: "submitted"},
			{From: jobs.StatusQueued, To: jobs.StatusRunning, At: at(1), Reason: "picked up by a worker"},
			{From: jobs.StatusRunning, To: jobs.StatusCompleted, At: at(3), Reason: "all phases finished"},
		},
	}
	params.Split = "val"
	failed := &jobs.Job{
		ID: "01955a00-0000-7000-8000-000000000002", Params: params, Status: jobs.StatusFailed,
		Phase: 2, PhaseName: "survival", Progress: 0.25, PhasesDone: 1, Attempts: 1,
		CreatedAt: at(4), StartedAt: ptr(at(5)), FinishedAt: ptr(at(6)), UpdatedAt: at(6),
		Error:  "phase 2 (survival): no events in training data",
		RunDir: "runs/01955a00-0000-7000-8000-000000000002", LogFile: "logs/pipeline_01955a00-0000-7000-8000-000000000002.log",
		Transitions: []jobs.Transition{
			{To: jobs.StatusQueued, At: at(4), Reason: "submitted"},
			{From: jobs.StatusQueued, To: jobs.StatusRunning, At: at(5), Reason: "picked up by a worker"},
			{From: jobs.StatusRunning, To: jobs.StatusFailed, At: at(6), Reason: "phase error"},
		},
	}
	params.Split = "train"
	stopped := &jobs.Job{
		ID: "01955a00-0000-7000-8000-000000000003", Params: params, Status: jobs.StatusInterrupted,
		Phase: 3, PhaseName: "uplift", Progress: 0.5, PhasesDone: 2, Attempts: 1,
		CreatedAt: at(7), StartedAt: ptr(at(8)), UpdatedAt: at(9),
		RunDir: "runs/01955a00-0000-7000-8000-000000000003", LogFile: "logs/pipeline_01955a00-0000-7000-8000-000000000003.log",
		Transitions: []jobs.Transition{
			{To: jobs.StatusQueued, At: at(7), Reason: "submitted"},
			{From: jobs.StatusQueued, To: jobs.StatusRunning, At: at(8), Reason: "picked up by a worker"},
			{From: jobs.StatusRunning, To: jobs.StatusInterrupted, At: at(9), Reason: "the server stopped during the run"},
		},
	}
	var arts []jobs.Artifact
	for phase, name := range []string{"train.csv", "predictions_test.csv", "uplift_test.csv", "test_ensemble_250000c_report.json"} {
		arts = append(arts, jobs.Artifact{
			JobID: done.ID, Phase: phase + 1, Path: done.RunDir + "/phase" + strconv.Itoa(phase+1) + "/" + name,
			Size: int64(100 * (phase + 1)), SHA256: strings.Repeat(strconv.Itoa(phase+1), 64), CreatedAt: at(2),
		})
	}
	tails := map[string]string{
		done.ID:    "level=INFO msg=\"job completed\"\n",
		failed.ID:  "level=ERROR msg=\"job failed\"\n",
		stopped.ID: "level=INFO msg=\"phase finished\" phase=2\n",
	}
	return []*jobs.Job{done, failed, stopped}, arts, tails
}

// writeV1File writes the fixture with migration 1 only, as the program
// did before migration 2 existed.
func writeV1File(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, arts, tails := v1Fixture()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := m.All[0].Up(tx); err != nil {
			return err
		}
		if err := tx.Bucket(m.BucketMeta).Put(m.KeySchemaVersion, []byte("1")); err != nil {
			return err
		}
		for _, j := range all {
			if err := putJSON(tx.Bucket(m.BucketJobs), []byte(j.ID), j); err != nil {
				return err
			}
			if err := putJSON(tx.Bucket(m.BucketLogs), []byte(j.ID), tails[j.ID]); err != nil {
				return err
			}
		}
		for _, a := range arts {
			if err := putJSON(tx.Bucket(m.BucketArtifacts), artifactKey(a), a); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(m.BucketPointers), m.KeyLatest, all[0].ID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyV1File copies the committed version 1 file into a temporary folder,
// rewriting it first when the test runs with -update.
func copyV1File(t *testing.T) string {
	t.Helper()
	if *update {
		writeV1File(t, v1File)
	}
	raw, err := os.ReadFile(v1File)
	if err != nil {
		t.Fatalf("read %s: %v (regenerate it with go test ./store -run TestOpenMigratesVersion1 -update)", v1File, err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileVersion(t *testing.T, path string) (int, bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	var hasPruned bool
	err = db.View(func(tx *bolt.Tx) error {
		hasPruned = tx.Bucket(m.BucketPruned) != nil
		var err error
		v, err = m.Version(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, hasPruned
}

func TestOpenMigratesVersion1(t *testing.T) {
	path := copyV1File(t)
	if v, hasPruned := fileVersion(t, path); v != 1 || hasPruned {
		t.Fatalf("fixture has version %d, pruned bucket %v; want 1 and no bucket", v, hasPruned)
	}

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantJobs, wantArts, wantTails := v1Fixture()
	for _, want := range wantJobs {
		got, err := s.Job(want.ID)
		if err != nil {
			t.Errorf("job %s after migration: %v", want.ID, err)
			continue
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("job %s changed by the migration:\n got %s\nwant %s", want.ID, gotJSON, wantJSON)
		}
		tail, err := s.LogTail(want.ID)
		if err != nil || tail != wantTails[want.ID] {
			t.Errorf("log tail of %s = %q, %v; want %q", want.ID, tail, err, wantTails[want.ID])
		}
	}
	arts, err := s.Artifacts(wantJobs[0].ID)
	if err != nil || len(arts) != len(wantArts) {
		t.Fatalf("artifacts after migration: %d, %v; want %d", len(arts), err, len(wantArts))
	}
	for i := range arts {
		if arts[i].Path != wantArts[i].Path || arts[i].SHA256 != wantArts[i].SHA256 {
			t.Errorf("artifact %d = %+v, want %+v", i, arts[i], wantArts[i])
		}
	}
	latest, err := s.Latest()
	if err != nil || latest.ID != wantJobs[0].ID {
		t.Errorf("latest after migration = %v, %v; want %s", latest, err, wantJobs[0].ID)
	}
	rep, err := s.Check(CheckOptions{Phases: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("check after migration found problems: %q", rep.Problems)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v, hasPruned := fileVersion(t, path); v != m.Latest() || !hasPruned {
		t.Errorf("migrated file has version %d, pruned bucket %v; want %d and the bucket", v, hasPruned, m.Latest())
	}
}

// TestReadOnlyOpenLeavesVersion1 checks that offline inspection of an old
// file works and does not migrate it.
func TestReadOnlyOpenLeavesVersion1(t *testing.T) {
	path := copyV1File(t)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Jobs(jobs.JobFilter{})
	if err != nil || len(list) != 3 {
		t.Errorf("jobs of a version 1 file = %d, %v; want 3", len(list), err)
	}
	if _, err := s.Job("01955a00-0000-7000-8000-00000000ffff"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("unknown job err = %v, want ErrNotFound", err)
	}
	if pruned, err := s.PrunedJobs(); err != nil || len(pruned) != 0 {
		t.Errorf("deleted jobs of a version 1 file = %v, %v", pruned, err)
	}
	rep, err := s.Check(CheckOptions{Phases: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.SchemaVersion != 1 {
		t.Errorf("check of version 1 file: version %d, problems %q", rep.SchemaVersion, rep.Problems)
	}
	if len(rep.Notes) == 0 || !strings.Contains(strings.Join(rep.Notes, "\n"), "older than") {
		t.Errorf("check notes %q do not say the schema is old", rep.Notes)
	}
	s.Close()
	if v, _ := fileVersion(t, path); v != 1 {
		t.Errorf("read-only open changed the version to %d", v)
	}
}

func TestOpenNewerFileNamesBothVersions(t *testing.T) {
	path := copyV1File(t)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	newer := m.Latest() + 1
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(m.BucketMeta).Put(m.KeySchemaVersion, []byte(strconv.Itoa(newer)))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := Open(path, Options{ReadOnly: ro})
		if !errors.Is(err, jobs.ErrNewerSchema) {
			t.Fatalf("open (read-only %v) err = %v, want ErrNewerSchema", ro, err)
		}
		for _, want := range []string{"version " + strconv.Itoa(newer), "up to " + strconv.Itoa(m.Latest())} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("open (read-only %v) message %q lacks %q", ro, err, want)
			}
		}
	}
}
