package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ecomopti/ecomopti/httpapi"
)

func TestAPIKey(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{APIKey: testKey}, false)
	cases := []struct {
		name, method, path string
		header             map[string]string
		status             int
		detail             string
	}{
		{"MissingKey", "GET", "/pipeline/jobs", nil, 401, "missing API key"},
		{"WrongKey", "GET", "/pipeline/jobs", bearer("not-the-key"), 401, "invalid API key"},
		{"KeyPrefix", "GET", "/pipeline/jobs", bearer(testKey[:4]), 401, "invalid API key"},
		{"BasicScheme", "GET", "/pipeline/jobs", map[string]string{"Authorization": "Basic " + testKey}, 401, "Bearer scheme"},
		{"RightKey", "GET", "/pipeline/jobs", bearer(testKey), 200, ""},
		{"LowerCaseScheme", "GET", "/pipeline/jobs", map[string]string{"Authorization": "bearer " + testKey}, 200, ""},
		{"RootNeedsKey", "GET", "/", nil, 401, "missing API key"},
		{"MetricsNeedKey", "GET", "/metrics", nil, 401, "missing API key"},
		{"OptimizeNeedsKey", "POST", "/phase4/optimize", nil, 401, "missing API key"},
		{"HealthOpen", "GET", "/health", nil, 200, ""},
		{"OpenAPIOpen", "GET", "/openapi.json", nil, 200, ""},
		{"DocsOpen", "GET", "/docs", nil, 200, ""},
		{"DocsAssetOpen", "GET", "/docs/swagger-ui-bundle.js", nil, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.do(t, tc.method, tc.path, "", tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %.200s", resp.StatusCode, tc.status, raw)
			}
			if tc.status != 401 {
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
			}
			var d struct{ Detail string }
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", d.Detail, tc.detail)
			}
		})
	}
	if logs := s.logs.String(); strings.Contains(logs, testKey) || strings.Contains(logs, "not-the-key") {
		t.Errorf("the server log contains an API key:\n%s", logs)
	}
}

func TestNoAPIKeyMeansOpen(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, false)
	resp, _ := s.do(t, "GET", "/pipeline/jobs", "", nil)
	if resp.StatusCode != 200 {
		t.Errorf("status %d without a configured key, want 200", resp.StatusCode)
	}
}

func TestBodyLimitWithKey(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{APIKey: testKey}, true)
	big := `{"split":"test","model":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	for _, path := range []string{"/pipeline/run", "/phase4/optimize"} {
		resp, raw := s.do(t, "POST", path, big, bearer(testKey))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with %d bytes: status %d, want 413", path, len(big), resp.StatusCode)
		}
		if !strings.Contains(string(raw), "larger than 1048576 bytes") {
			t.Errorf("POST %s: detail %s does not name the limit", path, raw)
		}
	}
}

func TestCORS(t *testing.T) {
	const dash = "https://dash.example.com"
	s := newOpsServer(t, httpapi.Config{APIKey: testKey, CORSOrigins: []string{dash, "http://localhost:3000"}}, false)
	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization, content-type"}
	}

	t.Run("PreflightAllowed", func(t *testing.T) {
		resp, _ := s.do(t, "OPTIONS", "/phase4/optimize", "", preflight(dash))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", resp.StatusCode)
		}
		h := resp.Header
		if got := h.Get("Access-Control-Allow-Origin"); got != dash {
			t.Errorf("Allow-Origin %q, want %q", got, dash)
		}
		if got := h.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
			t.Errorf("Allow-Methods %q lacks POST", got)
		}
		if got := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") {
			t.Errorf("Allow-Headers %q lacks Authorization", got)
		}
		if got := h.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("Allow-Credentials %q, want none", got)
		}
	})
	t.Run("PreflightRejected", func(t *testing.T) {
		resp, raw := s.do(t, "OPTIONS", "/phase4/optimize", "", preflight("https://evil.example.net"))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Allow-Origin %q for a rejected origin", got)
		}
		if !strings.Contains(string(raw), "not allowed") {
			t.Errorf("detail %s does not say the origin is not allowed", raw)
		}
	})
	t.Run("RequestFromAllowedOrigin", func(t *testing.T) {
		resp, _ := s.do(t, "GET", "/pipeline/jobs", "", map[string]string{"Origin": "http://localhost:3000", "Authorization": "Bearer " + testKey})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://localhost:3000" {
			t.Errorf("Allow-Origin %q", got)
		}
		if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "X-Request-ID") {
			t.Errorf("Expose-Headers %q lacks X-Request-ID", got)
		}
	})
	t.Run("RequestFromOtherOrigin", func(t *testing.T) {
		resp, _ := s.do(t, "GET", "/health", "", map[string]string{"Origin": "https://evil.example.net"})
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Allow-Origin %q for an origin not on the list", got)
		}
	})
}

func TestCORSWildcard(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{CORSOrigins: []string{"*"}}, false)
	resp, _ := s.do(t, "OPTIONS", "/pipeline/run", "", map[string]string{"Origin": "https://any.example.org", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d, want 204", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Allow-Origin %q, want *", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Allow-Credentials %q with a wildcard origin", got)
	}
}

func TestParseCORSOrigins(t *testing.T) {
	got, err := httpapi.ParseCORSOrigins(" https://Dash.example.com , http://localhost:3000/,,*")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://dash.example.com", "http://localhost:3000", "*"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("origins %q, want %q", got, want)
	}
	for _, bad := range []string{"dash.example.com", "ftp://x.example", "https://x.example/app", "https://u@x.example"} {
		if _, err := httpapi.ParseCORSOrigins(bad); err == nil {
			t.Errorf("origin %q was accepted", bad)
		}
	}
}

func TestRequestID(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, false)

	resp, _ := s.do(t, "GET", "/health", "", nil)
	generated := resp.Header.Get(httpapi.RequestIDHeader)
	if _, err := uuid.Parse(generated); err != nil {
		t.Errorf("generated request id %q is not a UUID: %v", generated, err)
	}

	resp, _ = s.do(t, "GET", "/pipeline/jobs", "", map[string]string{httpapi.RequestIDHeader: "dash-42.a:b_c"})
	if got := resp.Header.Get(httpapi.RequestIDHeader); got != "dash-42.a:b_c" {
		t.Errorf("echoed request id %q, want dash-42.a:b_c", got)
	}

	for _, bad := range []string{"has space", strings.Repeat("x", 129), "semi;colon", "<script>"} {
		resp, _ = s.do(t, "GET", "/health", "", map[string]string{httpapi.RequestIDHeader: bad})
		got := resp.Header.Get(httpapi.RequestIDHeader)
		if _, err := uuid.Parse(got); err != nil || got == bad {
			t.Errorf("invalid incoming id %q: response id %q, want a fresh UUID", bad, got)
		}
	}

	// The access log line carries the id, the route pattern and the status.
	found := false
	for line := range strings.Lines(s.logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "request" || rec["request_id"] != "dash-42.a:b_c" {
			continue
		}
		found = true
		if rec["level"] != "INFO" || rec["route"] != "/pipeline/jobs" || rec["method"] != "GET" || rec["status"] != 200.0 {
			t.Errorf("access log line %v", rec)
		}
		if _, ok := rec["duration_ms"].(float64); !ok {
			t.Errorf("access log line lacks duration_ms: %v", rec)
		}
	}
	if !found {
		t.Errorf("no access log line with the request id:\n%s", s.logs.String())
	}
}

func TestAccessLogNamesRoutePatternAndError(t *testing.T) {
	s := newOpsServer(t, httpapi.Config{}, false)
	missing := "0190c7e0-0000-7000-8000-000000000000"
	s.do(t, "GET", "/pipeline/status/"+missing, "", map[string]string{httpapi.RequestIDHeader: "r404"})
	for line := range strings.Lines(s.logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["request_id"] != "r404" {
			continue
		}
		if rec["route"] != "/pipeline/status/:job_id" || rec["status"] != 404.0 {
			t.Errorf("access log line %v, want route /pipeline/status/:job_id and status 404", rec)
		}
		if d, _ := rec["detail"].(string); !strings.Contains(d, "not found") {
			t.Errorf("access log detail %q lacks the error", d)
		}
		return
	}
	t.Errorf("no access log line for request r404:\n%s", s.logs.String())
}
