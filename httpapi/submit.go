package httpapi

import (
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

// submitRun returns the queued or running job with the same params, or
// creates one. The lookup runs in a read transaction first because a
// dashboard repeats the same run request while a job is active, and a
// bbolt write transaction (with its fsync) for each repeat slowed every
// other writer. The store's CreateJob checks again inside its write
// transaction, so two concurrent first requests still share one job.
func (s *Server) submitRun(params jobs.Params) (*jobs.Job, bool, error) {
	all, err := s.store.Jobs(jobs.JobFilter{})
	if err != nil {
		return nil, false, err
	}
	for _, j := range all {
		if j.Status.Active() && j.Params.Same(params) {
			return j, false, nil
		}
	}
	return pipeline.Submit(s.store, params, s.now())
}
