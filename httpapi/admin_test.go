package httpapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// backupServer serves the real handlers with the backup route enabled
// over a store that holds three queued jobs.
func backupServer(t *testing.T, cfg httpapi.Config, src httpapi.BackupSource) (*httptest.Server, *store.Store, []string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ids []string
	for i := 0; i < 3; i++ {
		j, _, err := pipeline.Submit(st, jobs.Params{Split: "test", Model: "ensemble", Budget: float64(100 + i)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	cfg.DataDir = dir
	if src == nil {
		src = st
	}
	cfg.Backup = src
	log := slog.New(slog.DiscardHandler)
	api := httpapi.New(st, nil, pipeline.NewOptimizer(st, dir, pipeline.DefaultConfig().Optimize, log), cfg, log)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, st, ids
}

func get(t *testing.T, url, key string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestBackupSendsConsistentCopy(t *testing.T) {
	srv, st, ids := backupServer(t, httpapi.Config{}, nil)
	resp, body := get(t, srv.URL+httpapi.BackupRoute, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="ecomopti-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if resp.Header.Get("Content-Length") != "" && resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}

	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open the downloaded copy: %v", err)
	}
	defer c.Close()
	list, err := c.Jobs(jobs.JobFilter{})
	if err != nil || len(list) != len(ids) {
		t.Fatalf("copy holds %d jobs, %v; want %d", len(list), err, len(ids))
	}
	for i, j := range list { // newest first
		if want := ids[len(ids)-1-i]; j.ID != want {
			t.Errorf("job %d in the copy is %s, want %s", i, j.ID, want)
		}
	}
	rep, err := c.Check(store.CheckOptions{Phases: pipeline.PhaseOptimize})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("check of the copy: %q", rep.Problems)
	}

	// The temporary copy is gone and the server's store still works.
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(st.Path()), ".backup-*")); len(left) != 0 {
		t.Errorf("temporary copies left: %v", left)
	}
	if err := st.Ping(); err != nil {
		t.Errorf("store after backup: %v", err)
	}
}

func TestBackupNeedsAPIKey(t *testing.T) {
	srv, _, _ := backupServer(t, httpapi.Config{APIKey: "s3cret-key"}, nil)
	resp, body := get(t, srv.URL+httpapi.BackupRoute, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without key: status %d, want 401", resp.StatusCode)
	}
	if strings.Contains(string(body), "bolt") || len(body) > 1000 {
		t.Errorf("401 body looks like database bytes: %d bytes", len(body))
	}
	resp, _ = get(t, srv.URL+httpapi.BackupRoute, "wrong")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key: status %d, want 401", resp.StatusCode)
	}
	resp, body = get(t, srv.URL+httpapi.BackupRoute, "s3cret-key")
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("with key: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

// blockingSource holds the first backup until release is closed.
type blockingSource struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSource) WriteBackup(w io.Writer) (int64, error) {
	close(b.entered)
	<-b.release
	n, err := w.Write([]byte("copy"))
	return int64(n), err
}

func TestBackupOneAtATime(t *testing.T) {
	src := &blockingSource{entered: make(chan struct{}), release: make(chan struct{})}
	srv, _, _ := backupServer(t, httpapi.Config{}, src)
	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + httpapi.BackupRoute)
		if err != nil {
			first <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-src.entered

	resp, body := get(t, srv.URL+httpapi.BackupRoute, "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second backup status %d, want 429", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	var d struct{ Detail string }
	if err := json.Unmarshal(body, &d); err != nil || !strings.Contains(d.Detail, "already") {
		t.Errorf("429 detail = %q, %v", d.Detail, err)
	}
	close(src.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first backup status %d, want 200", code)
	}
}

type failingSource struct{}

func (failingSource) WriteBackup(io.Writer) (int64, error) { return 0, errors.New("disk full") }

func TestBackupSourceErrorIs500(t *testing.T) {
	srv, st, _ := backupServer(t, httpapi.Config{}, failingSource{})
	resp, body := get(t, srv.URL+httpapi.BackupRoute, "")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	if strings.Contains(string(body), "disk full") {
		t.Errorf("500 body leaks the internal error: %s", body)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(st.Path()), ".backup-*")); len(left) != 0 {
		t.Errorf("temporary copies left after a failure: %v", left)
	}
}
