package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/store"
)

// bundle is a running API over a fresh data directory.
type bundle struct {
	dataDir string
	store   *store.Store
	worker  *jobs.Worker
	srv     *httptest.Server
	stop    func()
}

// setup starts the real handlers, store and worker; input feeds runs.
func setup(t *testing.T, input pipeline.InputFunc) *bundle {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	cfg := pipeline.DefaultConfig()
	worker := jobs.NewWorker(st, pipeline.JobFunc(dir, input, cfg, st), jobs.WorkerConfig{DataDir: dir}, log)
	ctx, cancel := context.WithCancel(context.Background())
	worker.Start(ctx)
	api := httpapi.New(st, worker, pipeline.NewOptimizer(st, dir, cfg.Optimize, log), httpapi.Config{DataDir: dir, Version: "test"}, log)
	srv := httptest.NewServer(api)
	b := &bundle{dataDir: dir, store: st, worker: worker, srv: srv}
	var stopped bool
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close()
		cancel()
		worker.Wait()
		st.Close()
	}
	t.Cleanup(b.stop)
	return b
}

func noInput() (prepare.Input, error) { return prepare.Input{}, os.ErrNotExist }

// call sends a request and decodes a JSON answer into out (when non-nil).
func (b *bundle) call(t *testing.T, method, path, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp
}

type detail struct {
	Detail json.RawMessage `json:"detail"`
}

type fieldErrors struct {
	Detail []struct {
		Loc  []any  `json:"loc"`
		Msg  string `json:"msg"`
		Type string `json:"type"`
	} `json:"detail"`
}

func TestUnknownRouteAndMethod(t *testing.T) {
	b := setup(t, noInput)
	var d detail
	resp := b.call(t, "GET", "/nope", "", &d)
	if resp.StatusCode != 404 || !strings.Contains(string(d.Detail), "/nope") {
		t.Errorf("unknown route: %d %s", resp.StatusCode, d.Detail)
	}
	resp = b.call(t, "GET", "/pipeline/run", "", &d)
	if resp.StatusCode != 405 {
		t.Errorf("GET /pipeline/run status %d, want 405", resp.StatusCode)
	}
	if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "POST") {
		t.Errorf("Allow header %q lacks POST", allow)
	}
	resp = b.call(t, "GET", "/pipeline/status/0190c7e0-0000-7000-8000-000000000000", "", &d)
	if resp.StatusCode != 404 || !strings.Contains(string(d.Detail), "not found") {
		t.Errorf("unknown job: %d %s", resp.StatusCode, d.Detail)
	}
}

func TestRunValidation(t *testing.T) {
	b := setup(t, noInput)
	cases := []struct {
		name, body, loc, msg string
		status               int
	}{
		{"MissingSplit", `{}`, "split", "required", 422},
		{"BadSplit", `{"split":"dev"}`, "split", `"dev"`, 422},
		{"BadModel", `{"split":"test","model":"t_learner"}`, "model", "t_learner", 422},
		{"ZeroBudget", `{"split":"test","budget":0}`, "budget", "greater than 0", 422},
		{"NegativeBudget", `{"split":"test","budget":-5}`, "budget", "-5", 422},
		{"HugeBudget", `{"split":"test","budget":1e300}`, "budget", "at most", 422},
		{"UnknownField", `{"split":"test","budjet":100}`, "budjet", "unknown field", 422},
		{"WrongType", `{"split":"test","budget":"100"}`, "budget", "number", 422},
		{"NotJSON", `split=test`, "", "invalid JSON", 422},
		{"Empty", ``, "", "empty", 422},
		{"TwoObjects", `{"split":"test"}{"split":"val"}`, "", "single JSON object", 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fe fieldErrors
			resp := b.call(t, "POST", "/pipeline/run", tc.body, &fe)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if len(fe.Detail) == 0 {
				t.Fatal("no validation detail")
			}
			d := fe.Detail[0]
			if tc.loc != "" && (len(d.Loc) < 2 || d.Loc[1] != tc.loc) {
				t.Errorf("loc %v, want [body %s]", d.Loc, tc.loc)
			}
			if !strings.Contains(d.Msg, tc.msg) {
				t.Errorf("msg %q lacks %q", d.Msg, tc.msg)
			}
		})
	}
}

func TestBodyOverLimitIs413(t *testing.T) {
	b := setup(t, noInput)
	big := `{"split":"test","model":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	var d detail
	resp := b.call(t, "POST", "/pipeline/run", big, &d)
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestOptimizeBeforeAnyRunIs409(t *testing.T) {
	b := setup(t, noInput)
	var d detail
	resp := b.call(t, "POST", "/phase4/optimize", `{"split":"test","budget":2500}`, &d)
	if resp.StatusCode != 409 || !strings.Contains(string(d.Detail), "POST /pipeline/run") {
		t.Errorf("optimize without a run: %d %s", resp.StatusCode, d.Detail)
	}
	var h map[string]any
	b.call(t, "GET", "/health", "", &h)
	if h["status"] != "degraded" || h["phase1_ready"] != false || h["database_ready"] != true {
		t.Errorf("health before a run = %v", h)
	}
	if _, err := time.Parse(time.RFC3339, h["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
}

func TestRootListsEndpoints(t *testing.T) {
	b := setup(t, noInput)
	var root struct {
		Name      string `json:"name"`
		Endpoints []struct{ Method, Path string }
	}
	b.call(t, "GET", "/", "", &root)
	if root.Name != "ecomopti" || len(root.Endpoints) < 5 {
		t.Fatalf("root = %+v", root)
	}
	seen := map[string]bool{}
	for _, e := range root.Endpoints {
		seen[e.Method+" "+e.Path] = true
	}
	for _, want := range []string{"POST /pipeline/run", "GET /pipeline/status/:job_id", "POST /phase4/optimize", "GET /health", "GET /"} {
		if !seen[want] {
			t.Errorf("catalogue lacks %s", want)
		}
	}
}

func TestFilesStayInsideDataDir(t *testing.T) {
	b := setup(t, noInput)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(b.dataDir, "runs", "r1")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runs, "ok.csv"), []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(runs, "link.txt")); err != nil {
		t.Fatal(err)
	}
	resp := b.call(t, "GET", "/files/runs/r1/ok.csv", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("inside file: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{
		"/files/runs/r1/link.txt",
		"/files/runs/../../etc/passwd",
		"/files/runs/%2e%2e/%2e%2e/etc/passwd",
		"/files/" + outside,
		"/files/ecomopti.db",
		"/files/runs/r1",
	} {
		resp := b.call(t, "GET", p, "", nil)
		if resp.StatusCode == 200 {
			t.Errorf("GET %s served a file", p)
		}
	}
}

// runPipeline starts a run through the API and waits for it to finish.
func runPipeline(t *testing.T, b *bundle, body string, limit time.Duration) map[string]any {
	t.Helper()
	var run struct {
		Status      string `json:"status"`
		JobID       string `json:"job_id"`
		CheckStatus string `json:"check_status"`
	}
	resp := b.call(t, "POST", "/pipeline/run", body, &run)
	if resp.StatusCode != 202 {
		t.Fatalf("run status %d", resp.StatusCode)
	}
	if id, err := uuid.Parse(run.JobID); err != nil || id.Version() != 7 {
		t.Errorf("job id %q is not a UUIDv7: %v", run.JobID, err)
	}
	if run.CheckStatus != "/pipeline/status/"+run.JobID {
		t.Errorf("check_status %q", run.CheckStatus)
	}
	deadline := time.Now().Add(limit)
	for {
		var st map[string]any
		b.call(t, "GET", run.CheckStatus, "", &st)
		switch st["status"] {
		case "completed":
			return st
		case "failed", "canceled", "interrupted":
			t.Fatalf("run ended %s: %v\nlog: %v", st["status"], st["error"], st["log"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("run still %s after %v", st["status"], limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type optimizeResponse struct {
	Status  string `json:"status"`
	Metrics struct {
		CustomersSelected int     `json:"customers_selected"`
		NetValue          float64 `json:"net_value"`
		NetProfit         float64 `json:"net_profit"`
		TotalCost         float64 `json:"total_cost"`
		ROI               float64 `json:"roi"`
	} `json:"metrics"`
	Files     map[string]string `json:"local_paths"`
	Downloads map[string]string `json:"files"`
}

// checkOptimize asks for a campaign and checks its figures and files.
func checkOptimize(t *testing.T, b *bundle, split string, budget float64) optimizeResponse {
	t.Helper()
	var res optimizeResponse
	body, _ := json.Marshal(map[string]any{"split": split, "model": "ensemble", "budget": budget})
	resp := b.call(t, "POST", "/phase4/optimize", string(body), &res)
	if resp.StatusCode != 200 {
		t.Fatalf("optimize status %d: %+v", resp.StatusCode, res)
	}
	if res.Status != "complete" || res.Metrics.CustomersSelected <= 0 || res.Metrics.NetValue <= 0 {
		t.Errorf("optimize = %+v", res)
	}
	if res.Metrics.TotalCost > budget+1e-9 {
		t.Errorf("total cost %v exceeds budget %v", res.Metrics.TotalCost, budget)
	}
	for _, key := range []string{"crm_export", "report", "summary"} {
		if fi, err := os.Stat(res.Files[key]); err != nil || fi.Size() == 0 {
			t.Errorf("file %s = %q: %v", key, res.Files[key], err)
		}
		r := b.call(t, "GET", res.Downloads[key], "", nil)
		if r.StatusCode != 200 {
			t.Errorf("download %s: status %d", res.Downloads[key], r.StatusCode)
		}
	}
	return res
}

// TestPipelineOnSample runs the whole pipeline on the project's synthetic
// sample, so the end-to-end path is covered without the real file.
func TestPipelineOnSample(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "telco_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func() (prepare.Input, error) { return prepare.Input{Path: "sample", Data: sample}, nil })
	st := runPipeline(t, b, `{"split":"test","model":"ensemble","budget":2500}`, 3*time.Minute)
	if st["progress"] != 1.0 || st["metrics"] == nil {
		t.Errorf("completed status lacks progress or metrics: %v", st["progress"])
	}
	checkOptimize(t, b, "test", 2500)

	// An identical request while nothing is active starts a new job; a
	// duplicate of an active job returns the same id.
	var a, c struct {
		JobID string `json:"job_id"`
	}
	b.call(t, "POST", "/pipeline/run", `{"split":"val","budget":100}`, &a)
	b.call(t, "POST", "/pipeline/run", `{"split":"val","budget":100}`, &c)
	if a.JobID == "" || a.JobID != c.JobID {
		t.Errorf("duplicate request got job %q, first %q", c.JobID, a.JobID)
	}
	var h map[string]any
	b.call(t, "GET", "/health", "", &h)
	if h["status"] != "healthy" {
		t.Errorf("health after a completed run = %v", h)
	}
}

// TestPipelineOnTelco is the end-to-end run on the real customer file.
func TestPipelineOnTelco(t *testing.T) {
	path := os.Getenv("ECOMOPTI_TELCO_CSV")
	if path == "" {
		t.Skip("ECOMOPTI_TELCO_CSV is not set; set it to the IBM Telco churn CSV to run this test")
	}
	b := setup(t, pipeline.FileInput(path))
	st := runPipeline(t, b, `{"split":"test","model":"ensemble","budget":2500}`, 10*time.Minute)
	jobID := st["job_id"].(string)
	res := checkOptimize(t, b, "test", 2500)
	t.Logf("test/ensemble/$2,500: %+v", res.Metrics)
	metrics, _ := json.MarshalIndent(st["metrics"], "", "  ")
	t.Logf("run metrics: %s", metrics)

	// Close everything and reopen the file: the job is still completed.
	b.stop()
	st2, err := store.Open(filepath.Join(b.dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	j, err := st2.Job(jobID)
	if err != nil || j.Status != jobs.StatusCompleted {
		t.Fatalf("reopened job = %+v, %v", j, err)
	}
	latest, err := st2.Latest()
	if err != nil || latest.ID != jobID {
		t.Errorf("latest after reopen = %v, %v", latest, err)
	}
}
