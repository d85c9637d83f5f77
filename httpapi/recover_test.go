package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
)

// newBareServer returns a Server with no store, worker or optimizer, for
// tests that register their own routes.
func newBareServer(t *testing.T, logs *bytes.Buffer) *Server {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(logs, nil))
	return New(nil, nil, nil, Config{DataDir: t.TempDir(), Version: "test"}, log)
}

func TestPanicInHandlerIs500WithStack(t *testing.T) {
	var logs bytes.Buffer
	s := newBareServer(t, &logs)
	s.router.Handle("GET", "/boom", s.instrument("/boom", func(http.ResponseWriter, *http.Request, httprouter.Params) {
		panic("kaboom")
	}))
	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set(RequestIDHeader, "boom-1")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	var body struct{ Detail string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	if !strings.Contains(body.Detail, "boom-1") {
		t.Errorf("detail %q does not name the request id", body.Detail)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"handler panicked"`) || !strings.Contains(out, "kaboom") {
		t.Errorf("log lacks the panic:\n%s", out)
	}
	if !strings.Contains(out, `"stack":"goroutine`) {
		t.Errorf("log lacks the stack:\n%s", out)
	}
	if !strings.Contains(out, `"route":"/boom","path":"/boom","status":500`) {
		t.Errorf("access log lacks status 500 for the route:\n%s", out)
	}
}

func TestPanicInMiddlewareIs500(t *testing.T) {
	var logs bytes.Buffer
	s := newBareServer(t, &logs)
	// A nil CORS policy panics on the first request with an Origin header,
	// standing in for a bug in the middleware itself.
	s.cors = nil
	req := httptest.NewRequest("GET", "/health", nil)
	req.Header.Set("Origin", "https://dash.example.com")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if !strings.Contains(logs.String(), `"stack":"goroutine`) {
		t.Errorf("log lacks the stack:\n%s", logs.String())
	}
}

func TestPanicAfterHeaderKeepsStatus(t *testing.T) {
	var logs bytes.Buffer
	s := newBareServer(t, &logs)
	s.router.Handle("GET", "/half", s.instrument("/half", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("partial"))
		panic("late")
	}))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/half", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
		t.Errorf("response %d %q, want the 200 already sent and no second body", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "late") {
		t.Errorf("log lacks the panic:\n%s", logs.String())
	}
}
