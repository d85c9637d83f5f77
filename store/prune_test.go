package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// finishJob claims the oldest queued job and moves it to status to; a
// completed job also becomes the latest run.
func finishJob(t *testing.T, s *Store, to jobs.Status) *jobs.Job {
	t.Helper()
	j, err := s.ClaimNext(time.Now(), "test")
	if err != nil || j == nil {
		t.Fatalf("claim: %v, %v", j, err)
	}
	if to == jobs.StatusCompleted {
		j, err = s.Complete(j.ID, time.Now(), "test")
	} else {
		j, err = s.UpdateJob(j.ID, func(j *jobs.Job) error { return j.TransitionTo(to, time.Now(), "test") })
	}
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestDeleteJobRemovesRecords(t *testing.T) {
	s, _ := openTemp(t)
	old := newJob(t, testParams)
	old.RunDir, old.LogFile = "runs/"+old.ID, "logs/pipeline_"+old.ID+".log"
	if _, _, err := s.CreateJob(old); err != nil {
		t.Fatal(err)
	}
	finishJob(t, s, jobs.StatusFailed)
	if err := s.SetLogTail(old.ID, "tail"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutArtifacts([]jobs.Artifact{{JobID: old.ID, Phase: 1, Path: "runs/x/a.csv", Size: 1, SHA256: "00"}}); err != nil {
		t.Fatal(err)
	}

	pruned, err := s.DeleteJob(old.ID, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "too old")
	if err != nil {
		t.Fatal(err)
	}
	if pruned.ID != old.ID || pruned.Status != jobs.StatusFailed || pruned.RunDir != old.RunDir || pruned.LogFile != old.LogFile {
		t.Errorf("pruned record = %+v", pruned)
	}
	if pruned.FinishedAt == nil {
		t.Error("pruned record lost the finish time")
	}

	_, err = s.Job(old.ID)
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("lookup of a deleted job err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "deleted by retention at 2026-05-01") || !strings.Contains(err.Error(), "too old") {
		t.Errorf("lookup message %q does not say when and why the job was deleted", err)
	}
	if tail, _ := s.LogTail(old.ID); tail != "" {
		t.Errorf("log tail survived: %q", tail)
	}
	if arts, _ := s.Artifacts(old.ID); len(arts) != 0 {
		t.Errorf("artifacts survived: %v", arts)
	}
	list, err := s.PrunedJobs()
	if err != nil || len(list) != 1 || list[0].ID != old.ID {
		t.Errorf("PrunedJobs = %v, %v", list, err)
	}
	if _, err := s.DeleteJob(old.ID, time.Now(), "again"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("second delete err = %v, want ErrNotFound", err)
	}
}

func TestDeleteJobKeepsActiveAndLatest(t *testing.T) {
	s, _ := openTemp(t)
	var ids []string
	for i := 0; i < 3; i++ {
		p := testParams
		p.Budget = float64(100 + i)
		j := newJob(t, p)
		ids = append(ids, j.ID)
		if _, _, err := s.CreateJob(j); err != nil {
			t.Fatal(err)
		}
	}
	latest := finishJob(t, s, jobs.StatusCompleted)
	running, err := s.ClaimNext(time.Now(), "test")
	if err != nil {
		t.Fatal(err)
	}
	interrupted, err := s.UpdateJob(running.ID, func(j *jobs.Job) error {
		return j.TransitionTo(jobs.StatusInterrupted, time.Now(), "test")
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		id   string
		want error
	}{
		{"Latest", latest.ID, jobs.ErrLatestRun},
		{"Interrupted", interrupted.ID, jobs.ErrNotFinished},
		{"Queued", ids[2], jobs.ErrNotFinished},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.DeleteJob(tc.id, time.Now(), "test"); !errors.Is(err, tc.want) {
				t.Errorf("delete err = %v, want %v", err, tc.want)
			}
			if _, err := s.Job(tc.id); err != nil {
				t.Errorf("job is gone after a rejected delete: %v", err)
			}
		})
	}
}

func TestDeleteJobCapsPrunedRecords(t *testing.T) {
	s, _ := openTemp(t)
	const extra = 3
	// Fill the bucket to the cap in one transaction, then delete real
	// jobs: each delete must drop the oldest record.
	var first []string
	for i := 0; i < MaxPrunedRecords; i++ {
		first = append(first, newJob(t, testParams).ID)
	}
	if err := s.fillPruned(first); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < extra; i++ {
		p := testParams
		p.Budget = float64(i + 1)
		j := newJob(t, p)
		if _, _, err := s.CreateJob(j); err != nil {
			t.Fatal(err)
		}
		finishJob(t, s, jobs.StatusCanceled)
		if _, err := s.DeleteJob(j.ID, time.Now(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.PrunedJobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != MaxPrunedRecords {
		t.Errorf("%d pruned records, want the cap %d", len(list), MaxPrunedRecords)
	}
	if list[0].ID != first[extra] {
		t.Errorf("oldest kept record %s, want %s", list[0].ID, first[extra])
	}
}

// fillPruned stores a minimal pruned record for each id in one transaction.
func (s *Store) fillPruned(ids []string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(m.BucketPruned)
		for _, id := range ids {
			if err := putJSON(b, []byte(id), jobs.PrunedJob{ID: id, Status: jobs.StatusCompleted}); err != nil {
				return err
			}
		}
		return nil
	})
}
