package optimize

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// testScores returns a hand-made table whose rows cover every status.
// Values in cents under the default config (tolerance: exact):
//
//	a: u = min(0.30, 0.20) = 0.20, CLV 500  -> v 10000, new, cost 1500, eligible
//	b: u = -0.05 (sleeping dog)              -> low uplift
//	c: u = 0.004 < 0.005                     -> low uplift
//	d: churned, u 0.1, CLV 900               -> churned (v 9000)
//	e: u = 0.01, CLV 900 -> v 900 <= 1000    -> not eligible, mid
//	f: u = 0.05, CLV 2000 -> v 10000, long   -> eligible, cost 800
//	g: u = min(0.5, 0.003) = 0.003           -> low uplift (clipped by p0)
//	h: churned sleeping dog                  -> low uplift and sleeping dog
func testScores() *dataset.Scores {
	return &dataset.Scores{
		IDs:     []string{"a", "b", "c", "d", "e", "f", "g", "h"},
		Churned: []float64{0, 0, 0, 1, 0, 0, 0, 1},
		Tenure:  []float64{3, 40, 20, 5, 12, 36, 11.9, 70},
		P0:      []float64{0.2, 0.5, 0.5, 0.6, 0.3, 0.4, 0.003, 0.9},
		CLV:     []float64{500, 800, 800, 900, 900, 2000, 1000, 100},
		Uplift: map[string][]float64{
			dataset.ModelEnsemble:  {0.30, -0.05, 0.004, 0.1, 0.01, 0.05, 0.5, -0.2},
			dataset.ModelSLearner:  {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1},
			dataset.ModelDRLearner: {0, 0, 0, 0, 0, 0, 0, 0},
		},
	}
}

func TestCustomersStatusesAndCounts(t *testing.T) {
	s := testScores()
	all, ex, err := priceCustomers(s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		segment Segment
		uplift  float64
		value   int64
		cost    int64
		status  Status
	}{
		{SegmentNew, 0.2, 10000, 1500, StatusEligible},
		{SegmentLong, -0.05, -4000, 800, StatusLowUplift},
		{SegmentMid, 0.004, 320, 1000, StatusLowUplift},
		{SegmentNew, 0.1, 9000, 1500, StatusChurned},
		{SegmentMid, 0.01, 900, 1000, StatusNotEligible},
		{SegmentLong, 0.05, 10000, 800, StatusEligible},
		{SegmentNew, 0.003, 300, 1500, StatusLowUplift},
		{SegmentLong, -0.2, -2000, 800, StatusLowUplift},
	}
	for i, w := range want {
		c := all[i]
		if c.Segment != w.segment || c.ValueCents != w.value || c.CostCents != w.cost || c.Status != w.status {
			t.Errorf("customer %s: segment %s value %d cost %d status %s; want %s %d %d %s",
				c.ID, c.Segment, c.ValueCents, c.CostCents, c.Status, w.segment, w.value, w.cost, w.status)
		}
		if math.Abs(c.Uplift-w.uplift) > 1e-15 {
			t.Errorf("customer %s: uplift %v, want %v", c.ID, c.Uplift, w.uplift)
		}
		if c.Row != i {
			t.Errorf("customer %s: row %d, want %d", c.ID, c.Row, i)
		}
	}
	wantEx := Exclusions{Total: 8, Eligible: 2, LowUplift: 4, SleepingDogs: 2, Churned: 1, NotEligible: 1}
	if ex != wantEx {
		t.Errorf("exclusions %+v, want %+v", ex, wantEx)
	}

	eligible, ex2, err := Customers(s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(eligible) != 2 || eligible[0].ID != "a" || eligible[1].ID != "f" {
		t.Errorf("eligible %v, want customers a and f", eligible)
	}
	if ex2 != wantEx {
		t.Errorf("Customers exclusions %+v, want %+v", ex2, wantEx)
	}
}

func TestCustomersUpliftClippedToP0(t *testing.T) {
	s := testScores()
	all, _, err := priceCustomers(s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.Uplift > c.P0 {
			t.Errorf("customer %s: uplift %v exceeds p0 %v", c.ID, c.Uplift, c.P0)
		}
		if c.Uplift != math.Min(c.ModelUplift, c.P0) {
			t.Errorf("customer %s: uplift %v, want min(%v, %v)", c.ID, c.Uplift, c.ModelUplift, c.P0)
		}
	}
	if all[0].ModelUplift != 0.3 || all[0].Uplift != 0.2 {
		t.Errorf("customer a: model uplift %v clipped to %v, want 0.3 clipped to 0.2", all[0].ModelUplift, all[0].Uplift)
	}
}

func TestCustomersIncludeChurned(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IncludeChurned = true
	eligible, ex, err := Customers(testScores(), dataset.ModelEnsemble, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Churned != 0 || ex.Eligible != 3 || len(eligible) != 3 {
		t.Errorf("churned %d eligible %d (%d returned), want 0 and 3", ex.Churned, ex.Eligible, len(eligible))
	}
	if eligible[1].ID != "d" || !eligible[1].Churned {
		t.Errorf("second eligible customer %+v, want churned customer d", eligible[1])
	}
}

func TestCustomersUnknownModel(t *testing.T) {
	s := testScores()
	delete(s.Uplift, dataset.ModelDRLearner)
	for _, model := range []string{"xgboost", dataset.ModelDRLearner, ""} {
		_, _, err := Customers(s, model, DefaultConfig())
		if !errors.Is(err, ErrUnknownModel) {
			t.Fatalf("model %q: error %v, want ErrUnknownModel", model, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "s_learner, ensemble") {
			t.Errorf("model %q: message %q does not list the valid models s_learner, ensemble", model, msg)
		}
	}
}

func TestCustomersRejectInvalidScores(t *testing.T) {
	tests := []struct {
		name   string
		change func(*dataset.Scores)
		want   string
	}{
		{"NaNCLV", func(s *dataset.Scores) { s.CLV[2] = math.NaN() }, "customer c: clv is NaN"},
		{"InfUplift", func(s *dataset.Scores) { s.Uplift[dataset.ModelEnsemble][1] = math.Inf(1) }, "customer b: uplift is +Inf"},
		{"NegativeTenure", func(s *dataset.Scores) { s.Tenure[0] = -1 }, "customer a: negative tenure"},
		{"P0AboveOne", func(s *dataset.Scores) { s.P0[4] = 1.5 }, "customer e: p0 1.5"},
		{"ChurnedNotBinary", func(s *dataset.Scores) { s.Churned[3] = 0.5 }, "customer d: churned is 0.5"},
		{"ShortColumn", func(s *dataset.Scores) { s.CLV = s.CLV[:3] }, "8 ids but"},
		{"HugeValue", func(s *dataset.Scores) { s.CLV[0] = 1e20 }, "exceeds the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testScores()
			tt.change(s)
			_, _, err := Customers(s, dataset.ModelEnsemble, DefaultConfig())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"ZeroCost", func(c *Config) { c.CostMidCents = 0 }},
		{"HugeCost", func(c *Config) { c.CostLongCents = MaxCostCents + 1 }},
		{"NaNMinUplift", func(c *Config) { c.MinUplift = math.NaN() }},
		{"NegativeMinimum", func(c *Config) { c.MinPerSegment = -1 }},
		{"ZeroMaxCells", func(c *Config) { c.MaxCells = 0 }},
		{"ZeroTimeLimit", func(c *Config) { c.TimeLimit = 0 }},
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestSegmentOf(t *testing.T) {
	tests := []struct {
		tenure float64
		want   Segment
	}{{0, SegmentNew}, {11.99, SegmentNew}, {12, SegmentMid}, {35.5, SegmentMid}, {36, SegmentLong}, {72, SegmentLong}}
	for _, tt := range tests {
		if got := SegmentOf(tt.tenure); got != tt.want {
			t.Errorf("SegmentOf(%v) = %s, want %s", tt.tenure, got, tt.want)
		}
	}
}
