package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newJob(t *testing.T, p jobs.Params) *jobs.Job {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	return &jobs.Job{ID: id.String(), Params: p, Status: jobs.StatusQueued, CreatedAt: now, UpdatedAt: now}
}

var testParams = jobs.Params{Split: "test", Model: "ensemble", Budget: 2500}

func TestCreateJobDeduplicatesActive(t *testing.T) {
	s, _ := openTemp(t)
	a := newJob(t, testParams)
	got, created, err := s.CreateJob(a)
	if err != nil || !created || got.ID != a.ID {
		t.Fatalf("first create = %v, %v, %v", got, created, err)
	}
	b := newJob(t, testParams)
	got, created, err = s.CreateJob(b)
	if err != nil {
		t.Fatal(err)
	}
	if created || got.ID != a.ID {
		t.Fatalf("identical request created %v (id %s), want the queued job %s", created, got.ID, a.ID)
	}

	// Once the first job is final, the same request starts a new job.
	if _, err := s.UpdateJob(a.ID, func(j *jobs.Job) error {
		return j.TransitionTo(jobs.StatusCanceled, time.Now(), "test")
	}); err != nil {
		t.Fatal(err)
	}
	got, created, err = s.CreateJob(b)
	if err != nil || !created || got.ID != b.ID {
		t.Fatalf("create after cancel = %v, %v, %v", got, created, err)
	}
}

func TestClaimNextTakesOldestQueued(t *testing.T) {
	s, _ := openTemp(t)
	var ids []string
	for i := 0; i < 3; i++ {
		p := testParams
		p.Budget = float64(1000 + i)
		j := newJob(t, p)
		ids = append(ids, j.ID)
		if _, _, err := s.CreateJob(j); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		j, err := s.ClaimNext(time.Now(), "test")
		if err != nil {
			t.Fatal(err)
		}
		if j == nil || j.ID != ids[i] {
			t.Fatalf("claim %d = %v, want %s", i, j, ids[i])
		}
		if j.Status != jobs.StatusRunning || j.Attempts != 1 || j.StartedAt == nil {
			t.Errorf("claimed job status %s attempts %d started %v", j.Status, j.Attempts, j.StartedAt)
		}
	}
	j, err := s.ClaimNext(time.Now(), "test")
	if err != nil || j != nil {
		t.Fatalf("claim on empty queue = %v, %v", j, err)
	}
}

func TestCompleteMovesLatestPointer(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.Latest(); !errors.Is(err, jobs.ErrNoCompletedRun) {
		t.Fatalf("Latest on new store err = %v, want ErrNoCompletedRun", err)
	}
	j := newJob(t, testParams)
	if _, _, err := s.CreateJob(j); err != nil {
		t.Fatal(err)
	}
	// Completing a queued job is not allowed and must not move the pointer.
	if _, err := s.Complete(j.ID, time.Now(), "test"); !errors.Is(err, jobs.ErrInvalidTransition) {
		t.Fatalf("complete queued err = %v, want ErrInvalidTransition", err)
	}
	if _, err := s.Latest(); !errors.Is(err, jobs.ErrNoCompletedRun) {
		t.Fatalf("pointer moved by a rejected completion: %v", err)
	}
	if _, err := s.ClaimNext(time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(j.ID, time.Now(), "done"); err != nil {
		t.Fatal(err)
	}
	latest, err := s.Latest()
	if err != nil || latest.ID != j.ID || latest.Status != jobs.StatusCompleted {
		t.Fatalf("Latest = %+v, %v", latest, err)
	}
	if n := len(latest.Transitions); n != 2 {
		t.Errorf("recorded %d transitions, want 2", n)
	}
}

func TestLogTailIsCapped(t *testing.T) {
	s, _ := openTemp(t)
	long := strings.Repeat("é", MaxLogTail) // 2 bytes a rune
	if err := s.SetLogTail("x", long+"END"); err != nil {
		t.Fatal(err)
	}
	got, err := s.LogTail("x")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > MaxLogTail {
		t.Errorf("tail is %d bytes, cap %d", len(got), MaxLogTail)
	}
	if !strings.HasSuffix(got, "END") || !strings.HasPrefix(got, "é") {
		t.Errorf("tail lost its end or was cut inside a rune: %q...", got[:4])
	}
}

func TestReopenKeepsJobs(t *testing.T) {
	s, path := openTemp(t)
	j := newJob(t, testParams)
	if _, _, err := s.CreateJob(j); err != nil {
		t.Fatal(err)
	}
	if err := s.PutArtifacts([]jobs.Artifact{{JobID: j.ID, Phase: 1, Path: "runs/x/a.csv", Size: 3, SHA256: "ab"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Job(j.ID)
	if err != nil || got.Status != jobs.StatusQueued || got.Params != testParams {
		t.Fatalf("reopened job = %+v, %v", got, err)
	}
	arts, err := s2.Artifacts(j.ID)
	if err != nil || len(arts) != 1 || arts[0].Path != "runs/x/a.csv" {
		t.Fatalf("reopened artifacts = %+v, %v", arts, err)
	}
	if err := s2.DeleteArtifacts(j.ID, 1); err != nil {
		t.Fatal(err)
	}
	if arts, _ := s2.Artifacts(j.ID); len(arts) != 0 {
		t.Errorf("artifacts after delete = %v", arts)
	}
}

func TestOpenLockedFileFailsFast(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	_, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, jobs.ErrLocked) {
		t.Fatalf("second open err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "server running") {
		t.Errorf("message %q does not say a server may hold the file", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("second open took %v", time.Since(start))
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	err := s.DB().Update(func(tx *bolt.Tx) error {
		return tx.Bucket(m.BucketMeta).Put(m.KeySchemaVersion, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path, Options{})
	if !errors.Is(err, jobs.ErrNewerSchema) {
		t.Fatalf("open newer file err = %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "99") {
		t.Errorf("message %q does not name the file's version", err)
	}
}
