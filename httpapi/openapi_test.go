package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ecomopti/ecomopti/httpapi"
)

const testKey = "k3y-for-tests"

// loadDoc fetches /openapi.json and validates it as an OpenAPI 3 document.
func loadDoc(t *testing.T, s *opsServer) *openapi3.T {
	t.Helper()
	resp, raw := s.do(t, "GET", "/openapi.json", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /openapi.json status %d", resp.StatusCode)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// catalogue returns "METHOD pattern" of every route listed by GET /.
func catalogue(t *testing.T, s *opsServer) []string {
	t.Helper()
	var root struct {
		Endpoints []struct{ Method, Path string }
	}
	_, raw := s.do(t, "GET", "/", "", bearer(testKey))
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range root.Endpoints {
		out = append(out, e.Method+" "+e.Path)
	}
	return out
}

// docPath turns a router pattern into an OpenAPI path template.
func docPath(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpenAPIMatchesCatalogue fails on a route missing from the document,
// an operation missing from the router, or a route with no description.
// It reads both lists at run time, so routes added later are covered.
func TestOpenAPIMatchesCatalogue(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{APIKey: testKey}, false)
	doc := loadDoc(t, s)
	routes := catalogue(t, s)
	if len(routes) < 13 {
		t.Fatalf("catalogue has %d routes, want at least 13: %v", len(routes), routes)
	}
	inCatalogue := map[string]bool{}
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt, " ")
		key := method + " " + docPath(pattern)
		inCatalogue[key] = true
		item := doc.Paths.Value(docPath(pattern))
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is missing from /openapi.json", rt)
			continue
		}
		if _, ok := item.GetOperation(method).Extensions["x-undocumented"]; ok {
			t.Errorf("route %s has no operation description in openapi.go", rt)
		}
	}
	var keys []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			keys = append(keys, method+" "+path)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !inCatalogue[key] {
			t.Errorf("operation %s in /openapi.json is not served by the router", key)
		}
	}
}

// TestOpenAPIPublicRoutes checks which operations the document marks as
// needing no API key.
func TestOpenAPIPublicRoutes(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, false)
	doc := loadDoc(t, s)
	public := map[string]bool{"/health": true, "/openapi.json": true, "/docs": true, "/docs/{asset}": true}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			open := op.Security != nil && len(*op.Security) == 0
			if open != public[path] {
				t.Errorf("%s %s: documented as public %v, want %v", method, path, open, public[path])
			}
		}
	}
}

// checked is one request whose response is validated against the document.
type checked struct {
	method, pattern, path, body string
	header                      map[string]string
	status                      int
}

// TestResponsesMatchDocument sends requests that reach every route and
// most error statuses, and checks each status is documented for its
// operation and each JSON body matches the documented schema.
func TestResponsesMatchDocument(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{APIKey: testKey}, true)
	doc := loadDoc(t, s)
	key := bearer(testKey)

	// A queued job to cancel, and the optimize output to download.
	_, raw := s.do(t, "POST", "/pipeline/run", `{"split":"val","budget":50}`, key)
	var queued struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(raw, &queued); err != nil || queued.JobID == "" {
		t.Fatalf("queue a job: %s, %v", raw, err)
	}
	_, raw = s.do(t, "POST", "/phase4/optimize", `{"split":"test","budget":200}`, key)
	var opt struct {
		Downloads map[string]string `json:"files"`
	}
	if err := json.Unmarshal(raw, &opt); err != nil || opt.Downloads["report"] == "" {
		t.Fatalf("optimize: %s, %v", raw, err)
	}
	missing := "0190c7e0-0000-7000-8000-000000000000"
	cases := []checked{
		{"GET", "/", "/", "", key, 200},
		{"GET", "/health", "/health", "", nil, 200},
		{"GET", "/openapi.json", "/openapi.json", "", nil, 200},
		{"GET", "/docs", "/docs", "", nil, 200},
		{"GET", "/docs/:asset", "/docs/swagger-ui.css", "", nil, 200},
		{"GET", "/docs/:asset", "/docs/nope.js", "", nil, 404},
		{"GET", "/metrics", "/metrics", "", key, 200},
		{"GET", "/metrics", "/metrics", "", nil, 401},
		{"POST", "/pipeline/run", "/pipeline/run", `{"split":"test","budget":100}`, key, 202},
		{"POST", "/pipeline/run", "/pipeline/run", `{"split":"dev"}`, key, 422},
		{"POST", "/pipeline/run", "/pipeline/run", `{"split":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, key, 413},
		{"POST", "/pipeline/run", "/pipeline/run", `{"split":"test"}`, bearer("wrong"), 401},
		{"GET", "/pipeline/status/:job_id", "/pipeline/status/" + s.runID, "", key, 200},
		{"GET", "/pipeline/status/:job_id", "/pipeline/status/" + queued.JobID, "", key, 200},
		{"GET", "/pipeline/status/:job_id", "/pipeline/status/" + missing, "", key, 404},
		{"GET", "/pipeline/jobs", "/pipeline/jobs?limit=1", "", key, 200},
		{"GET", "/pipeline/jobs", "/pipeline/jobs?status=done", "", key, 422},
		{"GET", "/pipeline/jobs/:job_id/log", "/pipeline/jobs/" + s.runID + "/log", "", key, 200},
		{"GET", "/pipeline/jobs/:job_id/log", "/pipeline/jobs/" + missing + "/log", "", key, 404},
		{"POST", "/pipeline/jobs/:job_id/cancel", "/pipeline/jobs/" + queued.JobID + "/cancel", "", key, 202},
		{"POST", "/pipeline/jobs/:job_id/cancel", "/pipeline/jobs/" + s.runID + "/cancel", "", key, 409},
		{"POST", "/pipeline/jobs/:job_id/cancel", "/pipeline/jobs/" + missing + "/cancel", "", key, 404},
		{"POST", "/phase4/optimize", "/phase4/optimize", `{"split":"test","model":"dr_learner","budget":300}`, key, 200},
		{"POST", "/phase4/optimize", "/phase4/optimize", `{"split":"test","budget":300}`, key, 200},
		{"POST", "/phase4/optimize", "/phase4/optimize", `{"split":"test","budget":-1}`, key, 422},
		{"POST", "/phase4/optimize", "/phase4/optimize", `{"split":"test","budget":1}`, key, 422},
		{"GET", "/phase4/campaigns", "/phase4/campaigns?limit=5", "", key, 200},
		{"GET", "/phase4/campaigns", "/phase4/campaigns?limit=0", "", key, 422},
		{"GET", "/phase4/campaigns/:id", "/phase4/campaigns/" + missing, "", key, 404},
		{"GET", "/files/*path", opt.Downloads["report"], "", key, 200},
		{"GET", "/files/*path", "/files/runs/nothing.csv", "", key, 404},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s_%s_%d", tc.method, tc.pattern, tc.status), func(t *testing.T) {
			resp, raw := s.do(t, tc.method, tc.path, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %.300s", tc.method, tc.path, resp.StatusCode, tc.status, raw)
			}
			op := doc.Paths.Value(docPath(tc.pattern)).GetOperation(tc.method)
			ref := op.Responses.Status(tc.status)
			if ref == nil {
				t.Fatalf("status %d is not documented for %s %s", tc.status, tc.method, tc.pattern)
			}
			checkBody(t, ref.Value, resp, raw)
		})
	}

	// Statuses sent outside any operation: unknown path and wrong method.
	for _, tc := range []struct {
		method, path, component string
		status                  int
	}{
		{"GET", "/nope", "NotFound", 404},
		{"GET", "/pipeline/run", "MethodNotAllowed", 405},
	} {
		resp, raw := s.do(t, tc.method, tc.path, "", key)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			continue
		}
		checkBody(t, doc.Components.Responses[tc.component].Value, resp, raw)
	}
}

// TestOptimizeTimeoutIs504 uses a time limit that has passed before the
// solver starts, so the call must answer 504 in the documented shape.
func TestOptimizeTimeoutIs504(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{OptimizeTimeout: time.Nanosecond}, true)
	doc := loadDoc(t, s)
	resp, raw := s.do(t, "POST", "/phase4/optimize", `{"split":"test","budget":400}`, nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504; body %s", resp.StatusCode, raw)
	}
	if !strings.Contains(string(raw), "did not finish within") {
		t.Errorf("detail %s does not say the time limit passed", raw)
	}
	checkBody(t, doc.Paths.Value("/phase4/optimize").Post.Responses.Status(504).Value, resp, raw)
}

// TestOptimizeBeforeRunMatchesDocument checks the 409 shape.
func TestOptimizeBeforeRunMatchesDocument(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, false)
	doc := loadDoc(t, s)
	resp, raw := s.do(t, "POST", "/phase4/optimize", `{"split":"test"}`, nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("status %d, want 409; body %s", resp.StatusCode, raw)
	}
	checkBody(t, doc.Paths.Value("/phase4/optimize").Post.Responses.Status(409).Value, resp, raw)
}

// checkBody validates a JSON body against the documented schema of its
// content type; other content types must merely be documented.
func checkBody(t *testing.T, doc *openapi3.Response, resp *http.Response, raw []byte) {
	t.Helper()
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("response lacks X-Request-ID")
	}
	if ct != "application/json" {
		if doc.Content.Get(ct) == nil && doc.Content.Get("application/octet-stream") == nil {
			t.Errorf("content type %q is not documented", ct)
		}
		return
	}
	media := doc.Content.Get("application/json")
	if media == nil {
		t.Fatalf("JSON body is not documented: %.200s", raw)
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if err := media.Schema.Value.VisitJSON(body); err != nil {
		t.Errorf("body does not match the documented schema: %v\nbody: %.500s", err, raw)
	}
}
