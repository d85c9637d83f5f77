package httpapi_test

import (
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/httpapi"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// campaignServer is the API over a data directory with one completed run
// whose Phase 3 folder holds synthetic test-split scores. It has no
// worker, so nothing else changes the store.
type campaignServer struct {
	url     string
	dataDir string
	runDir  string
	store   *store.Store
}

func startCampaignServer(t *testing.T, optimizeTimeout time.Duration) *campaignServer {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	job, _, err := pipeline.Submit(st, campaignRunParams, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimNext(now, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Complete(job.ID, now, "test"); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, job.RunDir)
	phase3 := pipeline.PhaseDir(runDir, pipeline.PhaseUplift)
	if err := os.MkdirAll(phase3, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(phase3, "uplift_test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteScores(f, campaignTestScores(300)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	pcfg := pipeline.DefaultConfig()
	cfg := httpapi.Config{DataDir: dir, Version: "test", OptimizeTimeout: optimizeTimeout}
	api := httpapi.New(st, nil, pipeline.NewOptimizer(st, dir, pcfg.Optimize, log), cfg, log)
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &campaignServer{url: srv.URL, dataDir: dir, runDir: runDir, store: st}
}

// campaignRunParams are the parameters of the fake completed run.
var campaignRunParams = jobs.Params{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 2500}

// campaignTestScores draws n customers with every model and a true
// uplift, with a fixed seed.
func campaignTestScores(n int) *dataset.Scores {
	rng := rand.New(rand.NewPCG(41, 42))
	s := &dataset.Scores{Uplift: map[string][]float64{}}
	for i := range n {
		s.IDs = append(s.IDs, fmt.Sprintf("%04d-HTTP", i))
		s.Churned = append(s.Churned, float64(rng.IntN(5)/4))
		s.Tenure = append(s.Tenure, float64(rng.IntN(73)))
		s.P0 = append(s.P0, 0.05+0.5*rng.Float64())
		s.CLV = append(s.CLV, 100+900*rng.Float64())
		truth := -0.05 + 0.25*rng.Float64()
		s.TrueUplift = append(s.TrueUplift, truth)
		for _, m := range dataset.Models {
			s.Uplift[m] = append(s.Uplift[m], truth+0.02*rng.NormFloat64())
		}
	}
	return s
}

// send makes a request and returns the status, the content type and the
// body.
func (c *campaignServer) send(t *testing.T, method, path, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
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
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

type campaignJSON struct {
	ID         string            `json:"id"`
	RunID      string            `json:"run_id"`
	Status     string            `json:"status"`
	Error      string            `json:"error"`
	Budget     float64           `json:"budget"`
	Solver     string            `json:"solver"`
	Metrics    map[string]any    `json:"metrics"`
	Files      map[string]string `json:"files"`
	Downloads  map[string]string `json:"downloads"`
	DurationMS float64           `json:"duration_ms"`
}

type campaignPage struct {
	Campaigns  []campaignJSON `json:"campaigns"`
	NextBefore string         `json:"next_before"`
}

func decodeInto(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
}

func TestCampaignHistoryOverHTTP(t *testing.T) {
	c := startCampaignServer(t, 0)
	var ids []string
	for _, budget := range []float64{400, 650} {
		status, _, raw := c.send(t, "POST", "/phase4/optimize", fmt.Sprintf(`{"split":"test","budget":%v}`, budget))
		if status != 200 {
			t.Fatalf("optimize $%v: status %d: %s", budget, status, raw)
		}
		var res struct {
			CampaignID string `json:"campaign_id"`
		}
		decodeInto(t, raw, &res)
		ids = append(ids, res.CampaignID)
	}
	// $1 cannot pay for the segment minimums: 422, still recorded.
	if status, _, raw := c.send(t, "POST", "/phase4/optimize", `{"split":"test","budget":1}`); status != 422 {
		t.Fatalf("infeasible optimize: status %d: %s", status, raw)
	}

	status, _, raw := c.send(t, "GET", "/phase4/campaigns", "")
	if status != 200 {
		t.Fatalf("list: status %d: %s", status, raw)
	}
	var page campaignPage
	decodeInto(t, raw, &page)
	if len(page.Campaigns) != 3 || page.NextBefore != "" {
		t.Fatalf("list has %d campaigns and next_before %q, want 3 and none", len(page.Campaigns), page.NextBefore)
	}
	newest := page.Campaigns[0]
	if newest.Status != store.CampaignFailed || !strings.Contains(newest.Error, "segment minimums") || newest.Budget != 1 {
		t.Errorf("newest record %+v, want the failed $1 call", newest)
	}
	if page.Campaigns[1].ID != ids[1] || page.Campaigns[2].ID != ids[0] {
		t.Errorf("order %s, %s, want %s, %s", page.Campaigns[1].ID, page.Campaigns[2].ID, ids[1], ids[0])
	}

	// Pages of two, then the rest.
	status, _, raw = c.send(t, "GET", "/phase4/campaigns?limit=2", "")
	decodeInto(t, raw, &page)
	if status != 200 || len(page.Campaigns) != 2 || page.NextBefore != ids[1] {
		t.Fatalf("first page: status %d, %d campaigns, next_before %q, want 2 and %s", status, len(page.Campaigns), page.NextBefore, ids[1])
	}
	status, _, raw = c.send(t, "GET", "/phase4/campaigns?limit=2&before="+page.NextBefore, "")
	page = campaignPage{}
	decodeInto(t, raw, &page)
	if status != 200 || len(page.Campaigns) != 1 || page.Campaigns[0].ID != ids[0] {
		t.Errorf("second page: status %d, %+v, want only %s", status, page.Campaigns, ids[0])
	}

	for _, bad := range []string{"limit=0", "limit=501", "limit=x", "before=not-an-id"} {
		if status, _, raw := c.send(t, "GET", "/phase4/campaigns?"+bad, ""); status != 422 {
			t.Errorf("GET /phase4/campaigns?%s: status %d: %s, want 422", bad, status, raw)
		}
	}

	status, _, raw = c.send(t, "GET", "/phase4/campaigns/"+ids[0], "")
	if status != 200 {
		t.Fatalf("show: status %d: %s", status, raw)
	}
	var one campaignJSON
	decodeInto(t, raw, &one)
	if one.ID != ids[0] || one.Status != store.CampaignComplete || one.Budget != 400 || one.Solver == "" || one.Metrics["net_value"] == nil || one.DurationMS <= 0 {
		t.Errorf("record %+v, want the complete $400 call with solver, metrics and duration", one)
	}
	wantTypes := map[string]string{"crm_export": "text/csv", "report": "application/json", "summary": "text/markdown", "segment_deep_dive": "application/json"}
	for kind, prefix := range wantTypes {
		url := one.Downloads[kind]
		if url != "/files/"+one.Files[kind] {
			t.Errorf("%s: download %q, file %q", kind, url, one.Files[kind])
			continue
		}
		status, ctype, body := c.send(t, "GET", url, "")
		if status != 200 || !strings.HasPrefix(ctype, prefix) || len(body) == 0 {
			t.Errorf("GET %s: status %d, type %q, %d bytes", url, status, ctype, len(body))
		}
	}

	status, _, raw = c.send(t, "GET", "/phase4/campaigns/0190c7e0-0000-7000-8000-000000000000", "")
	var d struct {
		Detail string `json:"detail"`
	}
	decodeInto(t, raw, &d)
	if status != 404 || !strings.Contains(d.Detail, "not found") {
		t.Errorf("unknown id: status %d, detail %q", status, d.Detail)
	}
}

// TestOptimizeTimeoutLeavesNoFiles gives the call a 1 ns time limit: the
// response is 504, the campaign folder holds no file, finished or
// temporary, and the history records the timeout.
func TestOptimizeTimeoutLeavesNoFiles(t *testing.T) {
	c := startCampaignServer(t, time.Nanosecond)
	status, _, raw := c.send(t, "POST", "/phase4/optimize", `{"split":"test","budget":500}`)
	if status != http.StatusGatewayTimeout {
		t.Fatalf("status %d: %s, want 504", status, raw)
	}
	entries, err := os.ReadDir(filepath.Join(c.runDir, pipeline.CampaignsDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a timed-out call left %s", e.Name())
	}
	status, _, raw = c.send(t, "GET", "/phase4/campaigns", "")
	var page campaignPage
	decodeInto(t, raw, &page)
	if status != 200 || len(page.Campaigns) != 1 || page.Campaigns[0].Status != store.CampaignTimedOut || len(page.Campaigns[0].Files) != 0 {
		t.Errorf("history: status %d, %+v, want one timed-out record without files", status, page.Campaigns)
	}
}

func TestCampaignPlotsOverHTTP(t *testing.T) {
	c := startCampaignServer(t, 0)
	status, _, raw := c.send(t, "POST", "/phase4/optimize", `{"split":"test","budget":500}`)
	if status != 200 {
		t.Fatalf("optimize: status %d: %s", status, raw)
	}
	var res struct {
		CampaignID string `json:"campaign_id"`
	}
	decodeInto(t, raw, &res)

	status, _, raw = c.send(t, "POST", "/phase4/campaigns/"+res.CampaignID+"/plots", "")
	if status != 200 {
		t.Fatalf("plots: status %d: %s", status, raw)
	}
	var rec campaignJSON
	decodeInto(t, raw, &rec)
	charts := 0
	for kind, url := range rec.Downloads {
		if !strings.HasPrefix(kind, "plot_") {
			continue
		}
		charts++
		status, ctype, body := c.send(t, "GET", url, "")
		if status != 200 || ctype != "image/png" {
			t.Errorf("GET %s: status %d, type %q", url, status, ctype)
			continue
		}
		if _, err := png.DecodeConfig(strings.NewReader(string(body))); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	if charts != 6 {
		t.Errorf("%d charts, want 6: %v", charts, rec.Downloads)
	}
	status, _, raw = c.send(t, "GET", "/phase4/campaigns/"+res.CampaignID, "")
	var stored campaignJSON
	decodeInto(t, raw, &stored)
	if status != 200 || len(stored.Files) != len(rec.Files) {
		t.Errorf("stored record lists %d files, the plots answer %d", len(stored.Files), len(rec.Files))
	}

	// A failed call has no selection to draw; an unknown id is not found.
	c.send(t, "POST", "/phase4/optimize", `{"split":"test","budget":1}`)
	_, _, raw = c.send(t, "GET", "/phase4/campaigns?limit=1", "")
	var page campaignPage
	decodeInto(t, raw, &page)
	if len(page.Campaigns) != 1 || page.Campaigns[0].Status != store.CampaignFailed {
		t.Fatalf("newest record %+v, want the failed $1 call", page.Campaigns)
	}
	if status, _, raw := c.send(t, "POST", "/phase4/campaigns/"+page.Campaigns[0].ID+"/plots", ""); status != 409 {
		t.Errorf("plots of a failed call: status %d: %s, want 409", status, raw)
	}
	if status, _, _ := c.send(t, "POST", "/phase4/campaigns/0190c7e0-0000-7000-8000-000000000000/plots", ""); status != 404 {
		t.Errorf("plots of an unknown id: status %d, want 404", status)
	}
}
