package jobs

import (
	"errors"
	"testing"
	"time"
)

func TestTransitionTable(t *testing.T) {
	want := map[[2]Status]bool{
		{StatusQueued, StatusRunning}:       true,
		{StatusQueued, StatusCanceled}:      true,
		{StatusQueued, StatusFailed}:        true,
		{StatusRunning, StatusCompleted}:    true,
		{StatusRunning, StatusFailed}:       true,
		{StatusRunning, StatusCanceled}:     true,
		{StatusRunning, StatusInterrupted}:  true,
		{StatusInterrupted, StatusQueued}:   true,
		{StatusInterrupted, StatusFailed}:   true,
		{StatusInterrupted, StatusCanceled}: true,
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			if got := CanTransition(from, to); got != want[[2]Status{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
	}
	for _, s := range []Status{StatusCompleted, StatusFailed, StatusCanceled} {
		if !s.Final() {
			t.Errorf("%s is not final", s)
		}
	}
	if Status("paused").Valid() {
		t.Error("unknown status is valid")
	}
}

func TestTransitionToRecordsHistory(t *testing.T) {
	j := &Job{ID: "a", Status: StatusQueued}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := j.TransitionTo(StatusRunning, t0, "claimed"); err != nil {
		t.Fatal(err)
	}
	if j.Attempts != 1 || j.StartedAt == nil || !j.StartedAt.Equal(t0) {
		t.Errorf("after start: attempts %d started %v", j.Attempts, j.StartedAt)
	}
	err := j.TransitionTo(StatusQueued, t0, "bad")
	if !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("running -> queued err = %v, want ErrInvalidTransition", err)
	}
	if j.Status != StatusRunning || len(j.Transitions) != 1 {
		t.Errorf("rejected transition changed the job: %s, %d transitions", j.Status, len(j.Transitions))
	}
	if err := j.TransitionTo(StatusCompleted, t0.Add(time.Minute), "done"); err != nil {
		t.Fatal(err)
	}
	last := j.Transitions[len(j.Transitions)-1]
	if last.From != StatusRunning || last.To != StatusCompleted || last.Reason != "done" {
		t.Errorf("last transition = %+v", last)
	}
	if j.FinishedAt == nil || j.Progress != 1 {
		t.Errorf("completed job finished %v progress %v", j.FinishedAt, j.Progress)
	}
}

func TestTransitionHistoryIsCapped(t *testing.T) {
	j := &Job{ID: "a", Status: StatusQueued}
	now := time.Now()
	for i := 0; i < 100; i++ {
		if err := j.TransitionTo(StatusRunning, now, "start"); err != nil {
			t.Fatal(err)
		}
		if err := j.TransitionTo(StatusInterrupted, now, "stop"); err != nil {
			t.Fatal(err)
		}
		if err := j.TransitionTo(StatusQueued, now, "resume"); err != nil {
			t.Fatal(err)
		}
	}
	if len(j.Transitions) != MaxTransitions {
		t.Errorf("history has %d entries, cap %d", len(j.Transitions), MaxTransitions)
	}
	if j.Transitions[0].Reason != "start" || j.Transitions[len(j.Transitions)-1].Reason != "resume" {
		t.Errorf("cap lost the first or the newest entry")
	}
}
