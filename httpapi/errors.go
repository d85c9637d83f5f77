package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ecomopti/ecomopti/jobs"
)

// FieldError is one entry of a 422 validation response, in the shape
// FastAPI clients expect: loc names the place and msg describes the problem.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// ValidationError is a request that failed validation. It maps to 422.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return "invalid request"
	}
	return fmt.Sprintf("invalid request: %v: %s", e.Fields[0].Loc, e.Fields[0].Msg)
}

func invalid(field, msg, typ string) *ValidationError {
	return &ValidationError{Fields: []FieldError{{Loc: []any{"body", field}, Msg: msg, Type: typ}}}
}

// apiError carries a status code and a user-facing detail message.
type apiError struct {
	status int
	detail string
}

func (e *apiError) Error() string { return e.detail }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, detail: fmt.Sprintf(format, args...)}
}

// writeJSON writes v with the given status. An encoding failure can only be
// a programming error, so it is logged.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Error("encode response", "err", err)
	}
}

// writeError maps an error to its status and {"detail": ...} body. Only
// internal errors (500) are logged: the rest are the client's to fix.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var verr *ValidationError
	var aerr *apiError
	var maxErr *http.MaxBytesError
	ri := info(r)
	ri.detail = err.Error()
	switch {
	case errors.As(err, &verr):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": verr.Fields})
	case errors.As(err, &aerr):
		writeJSON(w, aerr.status, map[string]string{"detail": aerr.detail})
	case errors.As(err, &maxErr):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
			"detail": fmt.Sprintf("request body is larger than %d bytes", maxErr.Limit)})
	case errors.Is(err, jobs.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": err.Error()})
	case errors.Is(err, jobs.ErrNoCompletedRun):
		writeJSON(w, http.StatusConflict, map[string]string{
			"detail": "no completed pipeline run: start one with POST /pipeline/run and wait until its status is completed"})
	case errors.Is(err, jobs.ErrFinished):
		writeJSON(w, http.StatusConflict, map[string]string{"detail": err.Error()})
	default:
		s.log.Error("request failed", "request_id", ri.id, "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{
			"detail": "internal server error; see the server log for request id " + ri.id})
	}
}
