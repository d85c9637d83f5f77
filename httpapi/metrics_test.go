package httpapi_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/store"
)

// metricValue returns the value of one series, such as
// `ecomopti_jobs{status="queued"}`, from a text exposition.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for line := range strings.Lines(text) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || name != series {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("series %s: value %q: %v", series, value, err)
		}
		return v
	}
	t.Errorf("no series %s in the metrics", series)
	return -1
}

func scrape(t *testing.T, s *opsServer) string {
	t.Helper()
	resp, raw := s.do(t, "GET", "/metrics", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics status %d: %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q, want the text format", ct)
	}
	return string(raw)
}

func TestMetrics(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, true)
	s.do(t, "GET", "/health", "", nil)
	s.do(t, "GET", "/health", "", nil)
	for _, id := range []string{"0190c7e0-0000-7000-8000-000000000001", "0190c7e0-0000-7000-8000-000000000002"} {
		s.do(t, "GET", "/pipeline/status/"+id, "", nil)
	}
	s.do(t, "GET", "/no/such/path", "", nil)
	s.do(t, "POST", "/pipeline/run", `{"split":"val"}`, nil)
	for range 3 {
		resp, raw := s.do(t, "POST", "/phase4/optimize", `{"split":"test","budget":250}`, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("optimize status %d: %s", resp.StatusCode, raw)
		}
	}
	s.metrics.ObservePhase("job", 2, "survival", 1500*time.Millisecond)
	// Campaign records are written in the background; listing them waits
	// for the writes, so the database size stays put while it is compared.
	if resp, raw := s.do(t, "GET", "/phase4/campaigns", "", nil); resp.StatusCode != 200 {
		t.Fatalf("list campaigns status %d: %s", resp.StatusCode, raw)
	}

	text := scrape(t, s)
	checks := []struct {
		series string
		want   float64
	}{
		{`ecomopti_http_requests_total{method="GET",route="/health",status="200"}`, 2},
		// Two different ids share one route label.
		{`ecomopti_http_requests_total{method="GET",route="/pipeline/status/:job_id",status="404"}`, 2},
		{`ecomopti_http_requests_total{method="GET",route="unmatched",status="404"}`, 1},
		{`ecomopti_http_requests_total{method="POST",route="/phase4/optimize",status="200"}`, 3},
		{`ecomopti_http_request_duration_seconds_count{method="GET",route="/health",status="200"}`, 2},
		{`ecomopti_jobs{status="completed"}`, 1},
		{`ecomopti_jobs{status="queued"}`, 1},
		{`ecomopti_jobs{status="failed"}`, 0},
		{`ecomopti_optimize_results_total{source="solved"}`, 1},
		{`ecomopti_optimize_results_total{source="cache"}`, 2},
		{`ecomopti_optimize_solve_seconds_count{solver="exact"}`, 1},
		{`ecomopti_optimize_solve_seconds_count{solver="greedy"}`, 1},
		{`ecomopti_pipeline_phase_duration_seconds_count{phase="2_survival"}`, 1},
		{`ecomopti_pipeline_phase_duration_seconds_sum{phase="2_survival"}`, 1.5},
		{`ecomopti_build_info{version="test"}`, 1},
	}
	for _, c := range checks {
		if got := metricValue(t, text, c.series); got != c.want {
			t.Errorf("%s = %v, want %v", c.series, got, c.want)
		}
	}
	fi, err := os.Stat(filepath.Join(s.dataDir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, text, "ecomopti_database_size_bytes"); got != float64(fi.Size()) {
		t.Errorf("database size %v, want %d", got, fi.Size())
	}
	if strings.Contains(text, "/pipeline/status/0190") {
		t.Errorf("a raw path became a label:\n%s", text)
	}
}

// TestPhaseMetricsFromWorker runs the sample pipeline through the real
// worker and checks that each of the four phases was timed once.
func TestPhaseMetricsFromWorker(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "telco_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	metrics := httpapi.NewMetrics(st, st.Path(), "test")
	input := func() (prepare.Input, error) { return prepare.Input{Path: "sample", Data: sample}, nil }
	log := slog.New(slog.DiscardHandler)
	worker := jobs.NewWorker(st, pipeline.JobFunc(dir, input, pipeline.DefaultConfig(), st),
		jobs.WorkerConfig{DataDir: dir, OnPhaseDone: metrics.ObservePhase}, log)
	job, _, err := pipeline.Submit(st, jobs.Params{Split: "test", Model: "ensemble", Budget: 1000}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	worker.Start(ctx)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		j, err := st.Job(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Final() {
			if j.Status != jobs.StatusCompleted {
				t.Fatalf("job ended %s: %s", j.Status, j.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s after 3 minutes", j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	worker.Wait()

	families, err := metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "ecomopti_pipeline_phase_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	for _, phase := range []string{"1_prepare", "2_survival", "3_uplift", "4_optimize"} {
		if counts[phase] != 1 {
			t.Errorf("phase %s observed %d times, want 1 (all: %v)", phase, counts[phase], counts)
		}
	}
}
