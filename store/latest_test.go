package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// completeJob creates, claims and completes a job with the given budget.
func completeJob(t *testing.T, s *Store, budget float64) *jobs.Job {
	t.Helper()
	p := testParams
	p.Budget = budget
	j := newJob(t, p)
	if _, _, err := s.CreateJob(j); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimNext(time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	done, err := s.Complete(j.ID, time.Now(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// fileLatest reads the latest job from the file, bypassing the copy.
func fileLatest(t *testing.T, s *Store) *jobs.Job {
	t.Helper()
	j, err := s.readLatest()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestLatestCopyFollowsWrites(t *testing.T) {
	s, path := openTemp(t)
	first := completeJob(t, s, 1000)
	second := completeJob(t, s, 2000)
	got, err := s.Latest()
	if err != nil || got.ID != second.ID {
		t.Fatalf("Latest after two completions = %v, %v, want %s", got, err, second.ID)
	}
	if !reflect.DeepEqual(got, fileLatest(t, s)) {
		t.Errorf("cached latest %+v differs from the file's %+v", got, fileLatest(t, s))
	}

	// Changing what Latest returned must not change the next result.
	got.RunDir = "changed"
	got.Transitions[0].Reason = "changed"
	*got.FinishedAt = time.Time{}
	again, err := s.Latest()
	if err != nil || again.RunDir == "changed" || again.Transitions[0].Reason == "changed" || again.FinishedAt.IsZero() {
		t.Errorf("a caller's change reached the cached copy: %+v, %v", again, err)
	}

	// An update of the latest job shows at once. An update of another job
	// does not change the result.
	if _, err := s.UpdateJob(second.ID, func(j *jobs.Job) error { j.Error = "note"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateJob(first.ID, func(j *jobs.Job) error { j.Error = "other"; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err = s.Latest()
	if err != nil || got.ID != second.ID || got.Error != "note" {
		t.Errorf("Latest after updates = %+v, %v, want job %s with error text \"note\"", got, err, second.ID)
	}
	// A failed update changes nothing.
	boom := errors.New("boom")
	if _, err := s.UpdateJob(second.ID, func(j *jobs.Job) error { j.Error = "lost"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed update returned %v", err)
	}
	if got, _ := s.Latest(); got.Error != "note" {
		t.Errorf("a failed update reached the cached copy: error text %q", got.Error)
	}

	// A reopened store reads the same job from the file.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	reopened, err := s2.Latest()
	if err != nil || !reflect.DeepEqual(reopened, fileLatest(t, s2)) || reopened.ID != second.ID || reopened.Error != "note" {
		t.Errorf("reopened Latest = %+v, %v", reopened, err)
	}
}

func TestLatestReadOnlyReadsFile(t *testing.T) {
	s, path := openTemp(t)
	j := completeJob(t, s, 1000)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.latest.Load() != nil {
		t.Errorf("read-only store keeps a copy of the latest job")
	}
	got, err := ro.Latest()
	if err != nil || got.ID != j.ID {
		t.Errorf("read-only Latest = %v, %v, want %s", got, err, j.ID)
	}
}
