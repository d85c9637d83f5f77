package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecomopti/ecomopti/jobs"
	m "github.com/ecomopti/ecomopti/migrations"
)

// checkBundle is a store holding one completed run with a real artifact
// file per phase, and one failed run.
type checkBundle struct {
	store   *Store
	dataDir string
	done    *jobs.Job
	failed  *jobs.Job
	arts    []jobs.Artifact
}

func setupCheck(t *testing.T) *checkBundle {
	t.Helper()
	s, path := openTemp(t)
	b := &checkBundle{store: s, dataDir: filepath.Dir(path)}
	b.done = newJob(t, testParams)
	p := testParams
	p.Split = "val"
	b.failed = newJob(t, p)
	for _, j := range []*jobs.Job{b.done, b.failed} {
		j.Transitions = []jobs.Transition{{To: jobs.StatusQueued, At: j.CreatedAt, Reason: "submitted"}}
		if _, _, err := s.CreateJob(j); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClaimNext(time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	for phase := 1; phase <= 4; phase++ {
		rel := fmt.Sprintf("runs/%s/phase%d/out.csv", b.done.ID, phase)
		data := []byte(strings.Repeat(fmt.Sprintf("row %d\n", phase), phase*10))
		if err := os.MkdirAll(filepath.Join(b.dataDir, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.dataDir, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		b.arts = append(b.arts, jobs.Artifact{JobID: b.done.ID, Phase: phase, Path: rel,
			Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), CreatedAt: time.Now().UTC()})
	}
	if err := s.PutArtifacts(b.arts); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateJob(b.done.ID, func(j *jobs.Job) error { j.PhasesDone = 4; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(b.done.ID, time.Now(), "all phases finished"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLogTail(b.done.ID, "job completed\n"); err != nil {
		t.Fatal(err)
	}
	finishJob(t, s, jobs.StatusFailed)
	return b
}

// verify checks an artifact file against its record, as the pipeline does.
func (b *checkBundle) verify(a jobs.Artifact) error {
	data, err := os.ReadFile(filepath.Join(b.dataDir, a.Path))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != a.Size || hex.EncodeToString(sum[:]) != a.SHA256 {
		return fmt.Errorf("size %d or hash differs from the record", len(data))
	}
	return nil
}

func (b *checkBundle) put(t *testing.T, bucket []byte, key string, value any) {
	t.Helper()
	err := b.store.db.Update(func(tx *bolt.Tx) error {
		raw, ok := value.([]byte)
		if !ok {
			var err error
			if raw, err = json.Marshal(value); err != nil {
				return err
			}
		}
		return tx.Bucket(bucket).Put([]byte(key), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (b *checkBundle) check(t *testing.T) *CheckReport {
	t.Helper()
	rep, err := b.store.Check(CheckOptions{VerifyArtifact: b.verify, Phases: 4})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckConsistentStore(t *testing.T) {
	b := setupCheck(t)
	rep := b.check(t)
	if !rep.OK() {
		t.Fatalf("problems in a consistent store: %q", rep.Problems)
	}
	if rep.Latest != b.done.ID {
		t.Errorf("latest %q, want %s", rep.Latest, b.done.ID)
	}
	if rep.Artifacts != 4 || rep.ArtifactsVerified != 4 {
		t.Errorf("artifacts %d, verified %d; want 4 and 4", rep.Artifacts, rep.ArtifactsVerified)
	}
	if rep.Jobs[jobs.StatusCompleted] != 1 || rep.Jobs[jobs.StatusFailed] != 1 {
		t.Errorf("job counts %v", rep.Jobs)
	}
	if rep.SchemaVersion != m.Latest() || rep.LogTails != 1 {
		t.Errorf("schema version %d, log tails %d", rep.SchemaVersion, rep.LogTails)
	}
}

func TestCheckFindsProblems(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(t *testing.T, b *checkBundle)
		want  string
	}{
		{"ChangedArtifact", func(t *testing.T, b *checkBundle) {
			if err := os.WriteFile(filepath.Join(b.dataDir, b.arts[1].Path), []byte("edited"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "phase2/out.csv of job"},
		{"MissingArtifact", func(t *testing.T, b *checkBundle) {
			if err := os.Remove(filepath.Join(b.dataDir, b.arts[0].Path)); err != nil {
				t.Fatal(err)
			}
		}, "(latest completed run)"},
		{"PointerToFailedRun", func(t *testing.T, b *checkBundle) {
			b.put(t, m.BucketPointers, string(m.KeyLatest), b.failed.ID)
		}, "which is failed, not completed"},
		{"PointerToMissingJob", func(t *testing.T, b *checkBundle) {
			b.put(t, m.BucketPointers, string(m.KeyLatest), "no-such-job")
		}, "which does not exist"},
		{"LatestRunMissingPhase", func(t *testing.T, b *checkBundle) {
			if err := b.store.DeleteArtifacts(b.done.ID, 4); err != nil {
				t.Fatal(err)
			}
		}, "no artifacts for phase 4"},
		{"UndecodableJob", func(t *testing.T, b *checkBundle) {
			b.put(t, m.BucketJobs, "zz-broken", []byte("{"))
		}, "job zz-broken: invalid JSON"},
		{"InvalidStatus", func(t *testing.T, b *checkBundle) {
			j := *b.failed
			j.ID, j.Status, j.Transitions = "zz-paused", "paused", nil
			b.put(t, m.BucketJobs, j.ID, j)
		}, `invalid status "paused"`},
		{"ForbiddenTransition", func(t *testing.T, b *checkBundle) {
			j, _ := b.store.Job(b.failed.ID)
			j.Transitions = append(j.Transitions, jobs.Transition{From: jobs.StatusFailed, To: jobs.StatusQueued})
			j.Status = jobs.StatusQueued
			b.put(t, m.BucketJobs, j.ID, j)
		}, "from failed to queued is not allowed"},
		{"OrphanLogTail", func(t *testing.T, b *checkBundle) {
			b.put(t, m.BucketLogs, "ghost", "text")
		}, "log tail ghost: no job"},
		{"OrphanArtifact", func(t *testing.T, b *checkBundle) {
			a := b.arts[0]
			a.JobID = "ghost"
			b.put(t, m.BucketArtifacts, string(artifactKey(a)), a)
		}, `no job has id "ghost"`},
		{"ArtifactOutsideDataDir", func(t *testing.T, b *checkBundle) {
			a := b.arts[0]
			a.Path = "../../etc/passwd"
			b.put(t, m.BucketArtifacts, string(artifactKey(a)), a)
		}, "is not inside the data directory"},
		{"PrunedJobStillStored", func(t *testing.T, b *checkBundle) {
			b.put(t, m.BucketPruned, b.failed.ID, jobs.PrunedJob{ID: b.failed.ID})
		}, "a job record with this id still exists"},
		{"CompletedWithoutAllPhases", func(t *testing.T, b *checkBundle) {
			if _, err := b.store.UpdateJob(b.done.ID, func(j *jobs.Job) error { j.PhasesDone = 2; return nil }); err != nil {
				t.Fatal(err)
			}
		}, "completed with phases_done 2 of 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := setupCheck(t)
			tc.spoil(t, b)
			rep := b.check(t)
			if rep.OK() {
				t.Fatal("check found no problem")
			}
			all := strings.Join(rep.Problems, "\n")
			if !strings.Contains(all, tc.want) {
				t.Errorf("problems %q lack %q", rep.Problems, tc.want)
			}
		})
	}
}

func TestCheckNotesRunningJob(t *testing.T) {
	b := setupCheck(t)
	p := testParams
	p.Budget = 1
	j := newJob(t, p)
	if _, _, err := b.store.CreateJob(j); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.ClaimNext(time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	rep := b.check(t)
	if !rep.OK() {
		t.Errorf("a running job is not a problem, got %q", rep.Problems)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), j.ID+" is running") {
		t.Errorf("notes %q do not mention the running job", rep.Notes)
	}
}
