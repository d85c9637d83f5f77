package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"
)

// RequestIDHeader carries the request id. A client may send its own (see
// validRequestID); otherwise the server generates one. Either way the
// response echoes it and every log line of the request carries it.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLen is the longest incoming request id that is kept.
const maxRequestIDLen = 128

// routeUnmatched is the route label of requests that matched no route
// (404 and 405), so unknown paths cannot grow the metric label set.
const routeUnmatched = "unmatched"

// requestInfo is the per-request state shared by the middleware and the
// handlers. It travels in the request context.
type requestInfo struct {
	id     string
	route  string // the route pattern, such as /pipeline/status/:job_id
	detail string // the error detail sent to the client, if any
}

type requestInfoKey struct{}

// info returns the requestInfo of r, or a blank one when r did not pass
// through ServeHTTP (handlers called directly in tests).
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// validRequestID reports whether an incoming request id is safe to echo
// and log: 1 to 128 characters of letters, digits and . _ : -.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// ServeHTTP implements http.Handler. Around the router it assigns the
// request id, recovers panics, responds to CORS preflights, and records the
// access log line and the request metrics. The API key is checked per
// route (see instrument), because some routes are public.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &requestInfo{id: r.Header.Get(RequestIDHeader), route: routeUnmatched}
	if !validRequestID(ri.id) {
		ri.id = uuid.NewString()
	}
	w.Header().Set(RequestIDHeader, ri.id)
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}

	defer func() {
		if v := recover(); v != nil {
			s.recoverPanic(rec, r, ri, v)
		}
		elapsed := time.Since(start)
		s.metrics.observeRequest(r.Method, ri.route, rec.status, elapsed)
		attrs := []any{"request_id", ri.id, "method", r.Method, "route", ri.route, "path", r.URL.Path,
			"status", rec.status, "duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", rec.bytes}
		if ri.detail != "" {
			attrs = append(attrs, "detail", ri.detail)
		}
		s.log.Info("request", attrs...)
	}()

	if s.cors.handle(rec, r) {
		ri.route = "preflight"
		return
	}
	s.router.ServeHTTP(rec, r)
}

// recoverPanic logs a panic with its stack and sends 500 when no header
// has been sent yet. http.ErrAbortHandler is passed on: net/http uses it
// to abort a response on purpose.
func (s *Server) recoverPanic(rec *statusRecorder, r *http.Request, ri *requestInfo, v any) {
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	s.log.Error("handler panicked", "request_id", ri.id, "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if rec.wroteHeader {
		// The status line is gone; the client sees a cut-off body.
		return
	}
	ri.detail = "internal server error"
	writeJSON(rec, http.StatusInternalServerError, map[string]string{
		"detail": "internal server error; see the server log for request id " + ri.id})
}

// instrument wraps a route's handler: it records the route pattern for the
// access log and the metrics, and checks the API key unless the route is
// public.
func (s *Server) instrument(pattern string, h httprouter.Handle) httprouter.Handle {
	public := publicRoutes[pattern]
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		info(r).route = pattern
		if !public && !s.authorized(w, r) {
			return
		}
		h(w, r, ps)
	}
}

// statusRecorder remembers the status and body size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
