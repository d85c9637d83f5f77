package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/jobs"
)

func TestBackupFileIsConsistentCopy(t *testing.T) {
	b := setupCheck(t)
	out := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(out, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := b.store.BackupFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != n || n == 0 {
		t.Errorf("copy is %d bytes, BackupFile reported %d", fi.Size(), n)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".copy.db.tmp-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// The source stays open and writable while the copy is read.
	p := testParams
	p.Budget = 7
	if _, _, err := b.store.CreateJob(newJob(t, p)); err != nil {
		t.Fatal(err)
	}

	c, err := Open(out, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Job(b.done.ID)
	if err != nil || got.Status != jobs.StatusCompleted {
		t.Fatalf("job in the copy = %v, %v", got, err)
	}
	list, err := c.Jobs(jobs.JobFilter{})
	if err != nil || len(list) != 2 {
		t.Errorf("copy has %d jobs, %v; want the 2 stored before the backup", len(list), err)
	}
	// The files stay in the data directory; the copy's records still check.
	rep, err := c.Check(CheckOptions{VerifyArtifact: b.verify, Phases: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("check of the copy: %q", rep.Problems)
	}
}

func TestBackupFileRejectsItself(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.BackupFile(path); err == nil || !strings.Contains(err.Error(), "database itself") {
		t.Errorf("backup onto the source err = %v", err)
	}
}

func TestWriteBackupWritesWholePages(t *testing.T) {
	b := setupCheck(t)
	var buf bytes.Buffer
	n, err := b.store.WriteBackup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != n {
		t.Errorf("wrote %d bytes, reported %d", buf.Len(), n)
	}
	fi, err := os.Stat(b.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	// The copy holds the used pages only; bbolt grows the file ahead.
	if n > fi.Size() || n%int64(os.Getpagesize()) != 0 || n < 4*int64(os.Getpagesize()) {
		t.Errorf("backup is %d bytes for a %d-byte file with %d-byte pages", n, fi.Size(), os.Getpagesize())
	}
}
