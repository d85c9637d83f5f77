package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"

	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

// CampaignListLimit is the page size of GET /phase4/campaigns when the
// request gives no limit. MaxListLimit caps the limit a request gives.
const CampaignListLimit = 50

// campaignReader reads the campaign history. *store.Store implements it.
type campaignReader interface {
	Campaign(id string) (*store.Campaign, error)
	Campaigns(f store.CampaignFilter) ([]*store.Campaign, error)
}

// campaignResponse is one campaign record with a GET /files URL for each
// of its files.
type campaignResponse struct {
	*store.Campaign
	Downloads map[string]string `json:"downloads"`
}

func newCampaignResponse(c *store.Campaign) campaignResponse {
	resp := campaignResponse{Campaign: c, Downloads: make(map[string]string, len(c.Files))}
	for kind, rel := range c.Files {
		resp.Downloads[kind] = "/files/" + rel
	}
	return resp
}

// campaigns returns the store's campaign history, or a 501 error when the
// store keeps none. The optimizer writes records in the background, so it
// first waits for the records of calls that have already returned.
func (s *Server) campaigns() (campaignReader, error) {
	r, ok := s.store.(campaignReader)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "campaign history is not available: this server's job store does not record optimize calls")
	}
	if s.optimizer != nil {
		s.optimizer.FlushCampaigns()
	}
	return r, nil
}

// handleCampaigns lists recorded optimize calls, newest first. Query:
// limit (1 to MaxListLimit, default CampaignListLimit) and before (a
// campaign id; the page starts below it). A full page carries next_before.
func (s *Server) handleCampaigns(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	history, err := s.campaigns()
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	q := r.URL.Query()
	f := store.CampaignFilter{Limit: CampaignListLimit, Before: q.Get("before")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			s.writeError(w, r, &ValidationError{Fields: []FieldError{{Loc: []any{"query", "limit"},
				Msg: fmt.Sprintf("invalid limit %q: use a whole number from 1 to %d", l, MaxListLimit), Type: "value_error"}}})
			return
		}
		f.Limit = n
	}
	if f.Before != "" {
		if _, err := uuid.Parse(f.Before); err != nil {
			s.writeError(w, r, &ValidationError{Fields: []FieldError{{Loc: []any{"query", "before"},
				Msg: fmt.Sprintf("invalid before %q: use the id of a campaign, such as the next_before of the previous page", f.Before), Type: "value_error"}}})
			return
		}
	}

	list, err := history.Campaigns(f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]campaignResponse, len(list))
	for k, c := range list {
		items[k] = newCampaignResponse(c)
	}
	resp := map[string]any{"campaigns": items}
	if len(list) == f.Limit {
		resp["next_before"] = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleCampaign shows one recorded optimize call.
func (s *Server) handleCampaign(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	history, err := s.campaigns()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := history.Campaign(ps.ByName("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newCampaignResponse(c))
}

// handleCampaignPlots draws the charts of a recorded optimize call and
// returns the record with the chart files added. POST /phase4/optimize
// does not draw them, because drawing takes a few hundred milliseconds.
// The optimize time limit applies: past it the answer is 504, and no chart
// is written.
func (s *Server) handleCampaignPlots(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.OptimizeTimeout)
	defer cancel()
	c, err := s.optimizer.CampaignPlots(ctx, ps.ByName("id"))
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, newCampaignResponse(c))
	case errors.Is(err, pipeline.ErrNoCampaignHistory):
		s.writeError(w, r, errorf(http.StatusNotImplemented, "%s", err.Error()))
	case errors.Is(err, pipeline.ErrCampaignNotComplete):
		s.writeError(w, r, errorf(http.StatusConflict, "%s, so it has no charts to draw", err.Error()))
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		s.writeError(w, r, errorf(http.StatusGatewayTimeout, "drawing the charts did not finish within %s", s.cfg.OptimizeTimeout))
	default:
		s.writeError(w, r, err)
	}
}
