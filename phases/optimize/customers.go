package optimize

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Segment is a tenure segment. Each segment has its own treatment cost and
// its own minimum number of selected customers.
type Segment int

// Tenure segments, in increasing tenure.
const (
	SegmentNew  Segment = iota // tenure < 12 months
	SegmentMid                 // 12 to 35 months
	SegmentLong                // 36 months or more
)

// Tenure bounds of the segments in months.
const (
	MidTenureMonths  = 12
	LongTenureMonths = 36
)

// Segments lists the segments in order.
var Segments = []Segment{SegmentNew, SegmentMid, SegmentLong}

const numSegments = 3

// SegmentOf returns the segment of a tenure in months.
func SegmentOf(tenureMonths float64) Segment {
	switch {
	case tenureMonths < MidTenureMonths:
		return SegmentNew
	case tenureMonths < LongTenureMonths:
		return SegmentMid
	}
	return SegmentLong
}

// String returns "new", "mid" or "long".
func (s Segment) String() string {
	switch s {
	case SegmentNew:
		return "new"
	case SegmentMid:
		return "mid"
	case SegmentLong:
		return "long"
	}
	return fmt.Sprintf("segment(%d)", int(s))
}

// MarshalJSON encodes the segment as its name.
func (s Segment) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON decodes a segment name: "new", "mid" or "long".
func (s *Segment) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for _, seg := range Segments {
		if seg.String() == name {
			*s = seg
			return nil
		}
	}
	return fmt.Errorf("invalid segment %q, expected new, mid or long", name)
}

// Status is the eligibility of a customer: eligible, or the reason for
// its exclusion.
type Status int

// Customer statuses. A customer gets the first status that applies, in the
// order low uplift, churned, not eligible.
const (
	StatusEligible    Status = iota
	StatusLowUplift          // clipped uplift below Config.MinUplift
	StatusChurned            // E = 1 and Config.IncludeChurned is false
	StatusNotEligible        // incremental value v <= treatment cost
)

// String returns the status name used in reports.
func (s Status) String() string {
	switch s {
	case StatusEligible:
		return "eligible"
	case StatusLowUplift:
		return "low_uplift"
	case StatusChurned:
		return "churned"
	case StatusNotEligible:
		return "not_eligible"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Customer is one customer of a split, priced for the budget problem.
type Customer struct {
	ID  string
	Row int // index in the Scores table

	Segment      Segment
	TenureMonths float64
	Churned      bool

	CLV         float64 // predicted 6-month CLV in dollars
	P0          float64 // base 6-month churn probability
	ModelUplift float64 // uplift predicted by the model
	// Uplift is u = min(ModelUplift, P0): a treatment cannot prevent more
	// churn than the customer would have.
	Uplift float64

	// ValueCents is the incremental value v = u × CLV in cents, rounded to
	// the nearest cent.
	ValueCents int64
	// CostCents is the treatment cost of the customer's segment.
	CostCents int64

	Status Status
}

// NetCents returns v - cost in cents.
func (c Customer) NetCents() int64 { return c.ValueCents - c.CostCents }

// Exclusions counts the customers of a split by status. Total equals
// Eligible + LowUplift + Churned + NotEligible. SleepingDogs is the part of
// LowUplift with uplift below zero.
type Exclusions struct {
	Total        int `json:"total"`
	Eligible     int `json:"eligible"`
	LowUplift    int `json:"excluded_low_uplift"`
	SleepingDogs int `json:"excluded_sleeping_dogs"`
	Churned      int `json:"excluded_churned"`
	NotEligible  int `json:"not_eligible"`
}

// Customers prices every customer of s with the uplift of the named model
// and returns the eligible ones, in table order, with the counts of the
// excluded ones.
//
// Per customer:
//
//	u       = min(model uplift, p0)
//	segment = new (tenure < 12), mid (12 to 35), long (36+ months)
//	cost    = Config cost of the segment, in cents
//	v       = round(100 × u × CLV) cents
//
// A customer is excluded when u < Config.MinUplift, when it churned (E = 1)
// and Config.IncludeChurned is false, or when v <= cost. An unknown model is
// an error wrapping ErrUnknownModel that lists the models of s. A
// non-finite or out-of-range score is an error naming the customer.
func Customers(s *dataset.Scores, model string, cfg Config) ([]Customer, Exclusions, error) {
	all, ex, err := priceCustomers(s, model, cfg)
	if err != nil {
		return nil, Exclusions{}, err
	}
	return eligibleOnly(all), ex, nil
}

func eligibleOnly(all []Customer) []Customer {
	var out []Customer
	for _, c := range all {
		if c.Status == StatusEligible {
			out = append(out, c)
		}
	}
	return out
}

// priceCustomers returns every customer of s, eligible or not.
func priceCustomers(s *dataset.Scores, model string, cfg Config) ([]Customer, Exclusions, error) {
	if err := cfg.Validate(); err != nil {
		return nil, Exclusions{}, err
	}
	if s == nil {
		return nil, Exclusions{}, fmt.Errorf("price customers: nil scores")
	}
	uplift, ok := s.Uplift[model]
	if !ok {
		return nil, Exclusions{}, fmt.Errorf("%w %q: valid models are %s", ErrUnknownModel, model, strings.Join(availableModels(s), ", "))
	}
	n := s.Len()
	if len(s.Churned) != n || len(s.Tenure) != n || len(s.P0) != n || len(s.CLV) != n || len(uplift) != n {
		return nil, Exclusions{}, fmt.Errorf("price customers: %d ids but %d churned, %d tenure, %d p0, %d clv and %d %s uplift values",
			n, len(s.Churned), len(s.Tenure), len(s.P0), len(s.CLV), len(uplift), model)
	}

	out := make([]Customer, n)
	ex := Exclusions{Total: n}
	for i := range n {
		c, err := priceCustomer(s, uplift, i, cfg)
		if err != nil {
			return nil, Exclusions{}, fmt.Errorf("price customers: %w", err)
		}
		out[i] = c
		switch c.Status {
		case StatusEligible:
			ex.Eligible++
		case StatusLowUplift:
			ex.LowUplift++
			if c.Uplift < 0 {
				ex.SleepingDogs++
			}
		case StatusChurned:
			ex.Churned++
		case StatusNotEligible:
			ex.NotEligible++
		}
	}
	return out, ex, nil
}

func priceCustomer(s *dataset.Scores, uplift []float64, i int, cfg Config) (Customer, error) {
	id := s.IDs[i]
	for _, f := range []struct {
		name string
		v    float64
	}{{"churned", s.Churned[i]}, {"tenure", s.Tenure[i]}, {"p0", s.P0[i]}, {"clv", s.CLV[i]}, {"uplift", uplift[i]}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return Customer{}, fmt.Errorf("customer %s: %s is %v", id, f.name, f.v)
		}
	}
	if s.Churned[i] != 0 && s.Churned[i] != 1 {
		return Customer{}, fmt.Errorf("customer %s: churned is %v, expected 0 or 1", id, s.Churned[i])
	}
	if s.Tenure[i] < 0 {
		return Customer{}, fmt.Errorf("customer %s: negative tenure %v months", id, s.Tenure[i])
	}
	if s.P0[i] < 0 || s.P0[i] > 1 {
		return Customer{}, fmt.Errorf("customer %s: p0 %v is outside [0, 1]", id, s.P0[i])
	}

	c := Customer{
		ID:           id,
		Row:          i,
		Segment:      SegmentOf(s.Tenure[i]),
		TenureMonths: s.Tenure[i],
		Churned:      s.Churned[i] == 1,
		CLV:          s.CLV[i],
		P0:           s.P0[i],
		ModelUplift:  uplift[i],
		Uplift:       min(uplift[i], s.P0[i]),
	}
	c.CostCents = cfg.Cost(c.Segment)
	value := math.Round(100 * c.Uplift * c.CLV)
	if math.Abs(value) > MaxValueCents {
		return Customer{}, fmt.Errorf("customer %s: incremental value %.0f cents exceeds the limit of %d cents", id, value, int64(MaxValueCents))
	}
	c.ValueCents = int64(value)

	switch {
	case c.Uplift < cfg.MinUplift:
		c.Status = StatusLowUplift
	case c.Churned && !cfg.IncludeChurned:
		c.Status = StatusChurned
	case c.ValueCents <= c.CostCents:
		c.Status = StatusNotEligible
	}
	return c, nil
}

// availableModels returns the model names of s, known ones first in
// dataset.Models order.
func availableModels(s *dataset.Scores) []string {
	var names []string
	for _, m := range dataset.Models {
		if _, ok := s.Uplift[m]; ok {
			names = append(names, m)
		}
	}
	var other []string
	for m := range s.Uplift {
		if !slices.Contains(dataset.Models, m) {
			other = append(other, m)
		}
	}
	slices.Sort(other)
	names = append(names, other...)
	if len(names) == 0 {
		return []string{"(none: the scores table has no uplift columns)"}
	}
	return names
}
