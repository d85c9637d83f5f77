package httpapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

// MaxListLimit caps one page of GET /pipeline/jobs.
const MaxListLimit = 500

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	f := jobs.JobFilter{Limit: 50, Before: q.Get("before")}
	if f.Before != "" {
		if _, err := uuid.Parse(f.Before); err != nil {
			s.writeError(w, r, &ValidationError{Fields: []FieldError{{Loc: []any{"query", "before"},
				Msg: fmt.Sprintf("invalid cursor %q: pass the next_before value of the previous page", f.Before), Type: "value_error"}}})
			return
		}
	}
	if st := q.Get("status"); st != "" {
		if !jobs.Status(st).Valid() {
			s.writeError(w, r, &ValidationError{Fields: []FieldError{{Loc: []any{"query", "status"},
				Msg: fmt.Sprintf("invalid status %q: use one of %v", st, jobs.Statuses), Type: "enum"}}})
			return
		}
		f.Status = jobs.Status(st)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			s.writeError(w, r, &ValidationError{Fields: []FieldError{{Loc: []any{"query", "limit"},
				Msg: fmt.Sprintf("invalid limit %q: use a whole number from 1 to %d", l, MaxListLimit), Type: "value_error"}}})
			return
		}
		f.Limit = n
	}
	list, err := s.store.Jobs(f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := map[string]any{"jobs": list}
	if list == nil {
		resp["jobs"] = []*jobs.Job{}
	}
	if len(list) == f.Limit {
		resp["next_before"] = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	job, err := s.worker.Cancel(ps.ByName("job_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("cancel requested", "job_id", job.ID, "status", job.Status)
	msg := "job canceled"
	if job.Status == jobs.StatusRunning {
		msg = "cancel requested; the running job stops at its next safe point"
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"job_id": job.ID, "status": job.Status, "message": msg})
}

// handleLog serves the full log file, or the stored tail when the file is
// gone (the tail survives a lost log folder).
func (s *Server) handleLog(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	job, err := s.store.Job(ps.ByName("job_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	f, err := os.Open(jobs.LogPath(s.cfg.DataDir, job.ID))
	if err != nil {
		tail, terr := s.store.LogTail(job.ID)
		if terr != nil {
			s.writeError(w, r, terr)
			return
		}
		w.Header().Set("X-Log-Source", "stored-tail")
		io.WriteString(w, tail)
		return
	}
	defer f.Close()
	w.Header().Set("X-Log-Source", "file")
	if _, err := io.Copy(w, f); err != nil {
		s.log.Warn("send job log", "job_id", job.ID, "err", err)
	}
}

// optimizeError maps optimiser failures to a status and a detail.
func (s *Server) optimizeError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return errorf(http.StatusGatewayTimeout, "optimisation did not finish within %s; try again, or raise the server's --optimize-timeout", s.cfg.OptimizeTimeout)
	case errors.Is(err, optimize.ErrInfeasible), errors.Is(err, optimize.ErrNoEligible):
		return errorf(http.StatusUnprocessableEntity, "%s", err.Error())
	case errors.Is(err, pipeline.ErrArtifact):
		return errorf(http.StatusConflict, "the latest completed run cannot be used: %v; run the pipeline again (POST /pipeline/run)", err)
	case errors.Is(err, optimize.ErrInvalidBudget):
		return invalid("budget", err.Error(), "value_error")
	}
	return err
}
