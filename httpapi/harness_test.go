package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// opsServer is a server over a fresh data directory whose worker is never
// started, so submitted jobs stay queued. Its log goes to logs.
type opsServer struct {
	url     string
	dataDir string
	store   *store.Store
	api     *httpapi.Server
	metrics *httpapi.Metrics
	logs    *syncBuffer
	runID   string // the fake completed run, when asked for
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newOpsServer starts the real handlers with cfg (DataDir is filled in).
// With completedRun, the store has a completed run whose Phase 3 scores
// are fakeScores, so POST /phase4/optimize works without running phases.
func newOpsServer(t testing.TB, cfg httpapi.Config, completedRun bool) *opsServer {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pcfg := pipeline.DefaultConfig()
	worker := jobs.NewWorker(st, pipeline.JobFunc(dir, noInput, pcfg, st), jobs.WorkerConfig{DataDir: dir}, log)
	cfg.DataDir = dir
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	if cfg.Metrics == nil {
		cfg.Metrics = httpapi.NewMetrics(st, st.Path(), cfg.Version)
	}
	api := httpapi.New(st, worker, pipeline.NewOptimizer(st, dir, pcfg.Optimize, log), cfg, log)
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	s := &opsServer{url: srv.URL, dataDir: dir, store: st, api: api, metrics: cfg.Metrics, logs: logs}
	if completedRun {
		s.runID = fakeRun(t, st, dir)
	}
	return s
}

// fakeRun records a completed job whose run folder holds Phase 3 scores
// for every split, and returns its id.
func fakeRun(t testing.TB, st *store.Store, dataDir string) string {
	t.Helper()
	now := time.Now()
	job, _, err := pipeline.Submit(st, jobs.Params{Split: "test", Model: "ensemble", Budget: 100}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimNext(now, "test"); err != nil {
		t.Fatal(err)
	}
	phase3 := pipeline.PhaseDir(filepath.Join(dataDir, job.RunDir), pipeline.PhaseUplift)
	if err := os.MkdirAll(phase3, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, split := range dataset.Splits {
		var buf bytes.Buffer
		if err := dataset.WriteScores(&buf, fakeScores(60)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(phase3, "uplift_"+split+".csv"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Complete(job.ID, now, "test"); err != nil {
		t.Fatal(err)
	}
	return job.ID
}

// fakeScores returns n customers spread over the three tenure segments,
// none churned, with uplift between 0.05 and 0.2 and CLV between $300 and
// $600, so every customer is worth more than the $8 to $15 treatment.
func fakeScores(n int) *dataset.Scores {
	s := &dataset.Scores{Uplift: map[string][]float64{}}
	for i := range n {
		s.IDs = append(s.IDs, fmt.Sprintf("C%04d", i))
		s.Churned = append(s.Churned, 0)
		s.Tenure = append(s.Tenure, float64((i*7)%72))
		s.P0 = append(s.P0, 0.4)
		s.CLV = append(s.CLV, 300+float64((i*37)%300))
		for _, m := range dataset.Models {
			s.Uplift[m] = append(s.Uplift[m], 0.05+0.15*float64((i*13)%n)/float64(n))
		}
	}
	return s
}

// do sends a request with optional headers and returns the response with
// its body read.
func (s *opsServer) do(t testing.TB, method, path, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// bearer returns the Authorization header for key.
func bearer(key string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + key}
}

// waitCtx is a context for polling loops in tests.
func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
