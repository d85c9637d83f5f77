package httpapi_test

import (
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/ecomopti/ecomopti/httpapi"
)

type cachedResponse struct {
	Cached  bool    `json:"cached"`
	Budget  float64 `json:"budget"`
	Metrics struct {
		CustomersSelected int     `json:"customers_selected"`
		NetValue          float64 `json:"net_value"`
	} `json:"metrics"`
	Files map[string]string `json:"local_paths"`
}

func optimizeOnce(t *testing.T, s *opsServer, body string) cachedResponse {
	t.Helper()
	resp, raw := s.do(t, "POST", "/phase4/optimize", body, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("optimize %s: status %d: %s", body, resp.StatusCode, raw)
	}
	var r cachedResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOptimizeResultCache(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, true)
	first := optimizeOnce(t, s, `{"split":"test","budget":300}`)
	if first.Cached {
		t.Errorf("first call reports cached")
	}
	if first.Metrics.CustomersSelected == 0 {
		t.Fatalf("first call selected nobody")
	}

	// Same budget in cents: served from the cache, same selection, and the
	// budget echoed as sent.
	second := optimizeOnce(t, s, `{"split":"test","budget":300.001}`)
	if !second.Cached {
		t.Errorf("second identical call was solved again")
	}
	if second.Metrics != first.Metrics {
		t.Errorf("cached metrics %+v differ from %+v", second.Metrics, first.Metrics)
	}
	if second.Budget != 300.001 {
		t.Errorf("cached response budget %v, want the request's 300.001", second.Budget)
	}

	// Another model or budget is another key.
	if r := optimizeOnce(t, s, `{"split":"test","model":"s_learner","budget":300}`); r.Cached {
		t.Errorf("other model served from the cache")
	}
	if r := optimizeOnce(t, s, `{"split":"test","budget":301}`); r.Cached {
		t.Errorf("other budget served from the cache")
	}

	// A deleted output file makes the next call solve and write again.
	if err := os.Remove(first.Files["crm_export"]); err != nil {
		t.Fatal(err)
	}
	third := optimizeOnce(t, s, `{"split":"test","budget":300}`)
	if third.Cached {
		t.Errorf("call after a file was deleted was served from the cache")
	}
	if _, err := os.Stat(first.Files["crm_export"]); err != nil {
		t.Errorf("crm export not written again: %v", err)
	}
}

// TestOptimizeConcurrentCallsSolveOnce sends 16 identical calls at once;
// one of them solves and the rest wait for it or hit the cache.
func TestOptimizeConcurrentCallsSolveOnce(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, true)
	const n = 16
	var wg sync.WaitGroup
	results := make([]cachedResponse, n)
	for i := range n {
		wg.Go(func() { results[i] = optimizeOnce(t, s, `{"split":"val","budget":420}`) })
	}
	wg.Wait()
	solved := 0
	for _, r := range results {
		if !r.Cached {
			solved++
		}
		if r.Metrics != results[0].Metrics {
			t.Errorf("metrics differ between identical calls: %+v and %+v", r.Metrics, results[0].Metrics)
		}
	}
	if solved != 1 {
		t.Errorf("%d of %d identical calls ran the solvers, want 1", solved, n)
	}
	text := scrape(t, s)
	if got := metricValue(t, text, `ecomopti_optimize_results_total{source="solved"}`); got != 1 {
		t.Errorf("solved counter %v, want 1", got)
	}
}
