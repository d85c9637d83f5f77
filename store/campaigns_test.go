package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ecomopti/ecomopti/jobs"
)

func newCampaign(t *testing.T, budget float64) *Campaign {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return &Campaign{
		ID:        id.String(),
		CreatedAt: time.Now().UTC(),
		RunID:     "run-1",
		Split:     "test",
		Model:     "ensemble",
		Budget:    budget,
		Status:    CampaignComplete,
		Solver:    "exact_dp",
		Optimal:   true,
		Metrics:   json.RawMessage(`{"net_value":12.5,"customers_selected":3}`),
		Files:     map[string]string{"report": "runs/run-1/campaigns/test_ensemble_100c_report.json"},
	}
}

func TestCampaignRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	c := newCampaign(t, 100)
	if _, err := s.AddCampaigns([]*Campaign{c}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Campaign(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.Budget != 100 || got.Status != CampaignComplete || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Errorf("read back %+v, want %+v", got, c)
	}
	var metrics map[string]float64
	if err := json.Unmarshal(got.Metrics, &metrics); err != nil || metrics["net_value"] != 12.5 {
		t.Errorf("metrics %s (%v), want net_value 12.5", got.Metrics, err)
	}
	if got.Files["report"] != c.Files["report"] {
		t.Errorf("files %v, want %v", got.Files, c.Files)
	}

	_, err = s.Campaign("0190c7e0-0000-7000-8000-000000000000")
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	if _, err := s.AddCampaigns([]*Campaign{c}, 0); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate id: %v, want an error saying it exists", err)
	}
	if _, err := s.AddCampaigns([]*Campaign{{Status: CampaignFailed}}, 0); err == nil {
		t.Errorf("a record without an id was stored")
	}
}

func TestCampaignsNewestFirstWithCursor(t *testing.T) {
	s, _ := openTemp(t)
	var ids []string
	for k := range 7 {
		c := newCampaign(t, float64(100+k))
		ids = append(ids, c.ID)
		// One transaction per record, as concurrent calls would do.
		if _, err := s.AddCampaigns([]*Campaign{c}, 0); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.Campaigns(CampaignFilter{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ids[6], ids[5], ids[4]}
	if got := campaignIDs(page); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("first page %v, want %v", got, want)
	}
	page, err = s.Campaigns(CampaignFilter{Limit: 3, Before: page[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{ids[3], ids[2], ids[1]}
	if got := campaignIDs(page); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("second page %v, want %v", got, want)
	}
	// A cursor above every id lists from the newest; one below lists none.
	all, err := s.Campaigns(CampaignFilter{Before: "ffffffff"})
	if err != nil || len(all) != 7 || all[0].ID != ids[6] {
		t.Errorf("cursor above all: %d records (%v), want 7 from the newest", len(all), err)
	}
	none, err := s.Campaigns(CampaignFilter{Before: ids[0]})
	if err != nil || len(none) != 0 {
		t.Errorf("cursor at the oldest: %d records (%v), want none", len(none), err)
	}
}

func campaignIDs(cs []*Campaign) []string {
	out := make([]string, len(cs))
	for k, c := range cs {
		out[k] = c.ID
	}
	return out
}

// TestCampaignHistoryPrunesOldest adds records in batches past the cap and
// checks that the newest survive and the count stays exact.
func TestCampaignHistoryPrunesOldest(t *testing.T) {
	s, _ := openTemp(t)
	var ids []string
	prunedTotal := 0
	for batch := range 4 {
		var cs []*Campaign
		for k := range 3 {
			c := newCampaign(t, float64(batch*10+k))
			cs = append(cs, c)
			ids = append(ids, c.ID)
		}
		pruned, err := s.AddCampaigns(cs, 5)
		if err != nil {
			t.Fatal(err)
		}
		prunedTotal += pruned
	}
	if prunedTotal != 12-5 {
		t.Errorf("pruned %d records, want 7", prunedTotal)
	}
	n, err := s.CampaignCount()
	if err != nil || n != 5 {
		t.Errorf("count %d (%v), want 5", n, err)
	}
	kept, err := s.Campaigns(CampaignFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 5 || kept[0].ID != ids[11] || kept[4].ID != ids[7] {
		t.Errorf("kept %v, want the five newest %v", campaignIDs(kept), ids[7:])
	}
	if _, err := s.Campaign(ids[6]); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("pruned record: %v, want ErrNotFound", err)
	}
}

func TestCampaignRecordLimits(t *testing.T) {
	s, _ := openTemp(t)
	c := newCampaign(t, 1)
	c.Status, c.Error = CampaignFailed, strings.Repeat("é", MaxErrorText)
	if _, err := s.AddCampaigns([]*Campaign{c}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Campaign(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Error) > MaxErrorText || !strings.HasPrefix(got.Error, "éé") || strings.ContainsRune(got.Error, '\uFFFD') {
		t.Errorf("stored error of %d bytes, want at most %d of whole characters", len(got.Error), MaxErrorText)
	}

	big := newCampaign(t, 2)
	big.Metrics = json.RawMessage(`"` + strings.Repeat("x", MaxCampaignBytes) + `"`)
	if _, err := s.AddCampaigns([]*Campaign{newCampaign(t, 3), big}, 0); err == nil {
		t.Fatal("an oversized record was stored")
	}
	if n, _ := s.CampaignCount(); n != 1 {
		t.Errorf("count %d after a failed batch, want 1: the batch must store nothing", n)
	}
}

func TestSetCampaignFiles(t *testing.T) {
	s, _ := openTemp(t)
	c := newCampaign(t, 100)
	if _, err := s.AddCampaigns([]*Campaign{c}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.SetCampaignFiles(c.ID, map[string]string{"roi_waterfall": "runs/run-1/campaigns/x.png", "report": "new.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 2 || got.Files["roi_waterfall"] != "runs/run-1/campaigns/x.png" || got.Files["report"] != "new.json" {
		t.Errorf("files %v, want the report replaced and the chart added", got.Files)
	}
	if n, _ := s.CampaignCount(); n != 1 {
		t.Errorf("count %d after an update, want 1", n)
	}
	if _, err := s.SetCampaignFiles("nope", nil); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}
