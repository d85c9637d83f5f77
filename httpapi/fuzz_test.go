package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/httpapi"
)

// The fuzz targets send arbitrary input through the real middleware and
// handlers. No input may panic or give a 5xx, and every error body must be
// JSON with a detail. Seeds are below and in testdata/fuzz/<target>/.

// serve sends one request to the server's handler in process.
func serve(s *opsServer, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, req)
	return rec
}

// checkNoServerError fails on a 5xx or an error body without a detail.
func checkNoServerError(t *testing.T, rec *httptest.ResponseRecorder, input string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("input %q: status %d: %s", input, rec.Code, rec.Body.String())
	}
	if rec.Code < 400 {
		return
	}
	var body struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Detail) == 0 {
		t.Fatalf("input %q: status %d with body %q, want JSON with a detail", input, rec.Code, rec.Body.String())
	}
}

func addBodySeeds(f *testing.F) {
	for _, seed := range []string{
		`{"split":"test","model":"ensemble","budget":2500}`,
		`{"split":"val","budget":0.01}`,
		`{"split":"train","model":"dr_learner","budget":1e9,"run_sweep":true,"run_scenarios":false}`,
		`{"split":"test","budget":-0}`,
		`{"split":"test","budget":1e308}`,
		`{"split":null,"model":null,"budget":null}`,
		`{"split":"test","budjet":100}`,
		`{"split":["test"]}`,
		`{"split":"test"}{"split":"val"}`,
		`[]`,
		`"test"`,
		`{"split":"\u0000"}`,
		``,
		`{`,
	} {
		f.Add(seed)
	}
}

func FuzzRunBody(f *testing.F) {
	addBodySeeds(f)
	s := newOpsServer(f, httpapi.Config{}, false)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/pipeline/run", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := serve(s, req)
		checkNoServerError(t, rec, body)
		if rec.Code != http.StatusAccepted && rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("input %q: status %d, want 202, 413 or 422", body, rec.Code)
		}
		if rec.Code == http.StatusAccepted {
			var run struct {
				JobID string `json:"job_id"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil {
				t.Fatal(err)
			}
			if _, err := s.store.Job(run.JobID); err != nil {
				t.Fatalf("input %q: accepted job %q is not stored: %v", body, run.JobID, err)
			}
		}
	})
}

func FuzzOptimizeBody(f *testing.F) {
	addBodySeeds(f)
	s := newOpsServer(f, httpapi.Config{}, true)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/phase4/optimize", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := serve(s, req)
		checkNoServerError(t, rec, body)
		switch rec.Code {
		case http.StatusOK:
			var res struct {
				Budget  float64 `json:"budget"`
				Metrics struct {
					TotalCost float64 `json:"total_cost"`
				} `json:"metrics"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			// The budget is rounded to cents before solving.
			if res.Metrics.TotalCost > res.Budget+0.005 {
				t.Fatalf("input %q: total cost %v exceeds the budget %v", body, res.Metrics.TotalCost, res.Budget)
			}
		case http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("input %q: status %d, want 200, 413 or 422", body, rec.Code)
		}
	})
}

func FuzzJobsQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		"status=completed&limit=10",
		"limit=500",
		"limit=0",
		"limit=-1",
		"limit=99999999999999999999",
		"status=done",
		"before=0190c7e0-0000-7000-8000-000000000000",
		"before=%ff%fe&status=",
		"limit=1&limit=2",
		"%zz",
		";;&&==",
	} {
		f.Add(seed)
	}
	s := newOpsServer(f, httpapi.Config{}, true)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/pipeline/jobs", nil)
		req.URL.RawQuery = query
		rec := serve(s, req)
		checkNoServerError(t, rec, query)
		switch rec.Code {
		case http.StatusOK:
			var list struct {
				Jobs []json.RawMessage `json:"jobs"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Jobs) > httpapi.MaxListLimit {
				t.Fatalf("query %q: %d jobs, more than the limit %d", query, len(list.Jobs), httpapi.MaxListLimit)
			}
		case http.StatusUnprocessableEntity:
		default:
			t.Fatalf("query %q: status %d, want 200 or 422", query, rec.Code)
		}
	})
}
