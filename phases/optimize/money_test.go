package optimize

import (
	"errors"
	"math"
	"testing"
)

func TestBudgetCents(t *testing.T) {
	tests := []struct {
		dollars float64
		want    int64
	}{
		{2500, 250000},
		{0.01, 1},
		{0.005, 1}, // math.Round rounds half away from zero
		{19.999, 2000},
		{1037.994, 103799},
		{0.1 + 0.2, 30},
	}
	for _, tt := range tests {
		got, err := BudgetCents(tt.dollars)
		if err != nil || got != tt.want {
			t.Errorf("BudgetCents(%v) = %d, %v; want %d", tt.dollars, got, err, tt.want)
		}
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1), 0.004, 1e14} {
		if _, err := BudgetCents(bad); !errors.Is(err, ErrInvalidBudget) {
			t.Errorf("BudgetCents(%v) error %v, want ErrInvalidBudget", bad, err)
		}
	}
}

func TestFormatCents(t *testing.T) {
	tests := []struct {
		cents int64
		want  string
	}{
		{0, "$0.00"}, {5, "$0.05"}, {123456, "$1,234.56"}, {-100, "-$1.00"},
		{100000000, "$1,000,000.00"}, {99999, "$999.99"},
	}
	for _, tt := range tests {
		if got := formatCents(tt.cents); got != tt.want {
			t.Errorf("formatCents(%d) = %q, want %q", tt.cents, got, tt.want)
		}
	}
}

func TestCompareRatios(t *testing.T) {
	tests := []struct {
		a, b, c, d int64
		want       int
	}{
		{2, 1, 4, 2, 0},
		{3000, 1500, 2000, 1000, 0},
		{3001, 1500, 2000, 1000, 1},
		{-1, 3, 1, 3, -1},
		{-2, 1, -1, 1, -1},
		{0, 5, 0, 7, 0},
		// Products near 2^100 overflow int64 but compare correctly.
		{1 << 60, 3, (1 << 60) + 1, 3, -1},
		{math.MaxInt64, 1 << 40, math.MaxInt64 - 1, 1 << 40, 1},
	}
	for _, tt := range tests {
		if got := compareRatios(tt.a, tt.b, tt.c, tt.d); got != tt.want {
			t.Errorf("compareRatios(%d/%d vs %d/%d) = %d, want %d", tt.a, tt.b, tt.c, tt.d, got, tt.want)
		}
	}
}

func TestComputeMetrics(t *testing.T) {
	customers := []Customer{
		{ID: "a", Segment: SegmentNew, CostCents: 1500, ValueCents: 4500},
		{ID: "b", Segment: SegmentLong, CostCents: 800, ValueCents: 1001},
		{ID: "c", Segment: SegmentLong, CostCents: 800, ValueCents: 5000},
	}
	sol := &Solution{Selected: []int{0, 1}, BudgetCents: 3000}
	ex := Exclusions{SleepingDogs: 4, Churned: 5, LowUplift: 6, NotEligible: 7}
	m := ComputeMetrics(customers, sol, ex)
	// Hand-computed: cost 2300, value 5501, net 3201 cents.
	if m.CustomersSelected != 2 || m.TotalCost != 23 || m.IncrementalCLVImpact != 55.01 || m.NetValue != 32.01 || m.NetProfit != 32.01 {
		t.Errorf("totals %+v, want 2 customers, $23.00 cost, $55.01 value, $32.01 net", m)
	}
	const tol = 1e-12
	if math.Abs(m.ROI-3201.0/2300) > tol || math.Abs(m.ValuePerDollar-5501.0/2300) > tol {
		t.Errorf("roi %v value per dollar %v, want %v and %v", m.ROI, m.ValuePerDollar, 3201.0/2300, 5501.0/2300)
	}
	if m.CostPerCustomer != 11.5 || m.BudgetUtilisationPct != 76.67 {
		t.Errorf("cost per customer %v utilisation %v, want 11.5 and 76.67", m.CostPerCustomer, m.BudgetUtilisationPct)
	}
	if m.SegmentCounts["new"] != 1 || m.SegmentCounts["long"] != 1 || m.SegmentCounts["mid"] != 0 || len(m.SegmentCounts) != 3 {
		t.Errorf("segment counts %v, want new 1, mid 0, long 1", m.SegmentCounts)
	}
	if m.ExcludedSleepingDogs != 4 || m.ExcludedChurned != 5 || m.ExcludedLowUplift != 6 || m.NotEligible != 7 {
		t.Errorf("exclusion counts %+v, want 4 5 6 7", m)
	}

	empty := ComputeMetrics(customers, &Solution{BudgetCents: 3000}, ex)
	if empty.ROI != 0 || empty.ValuePerDollar != 0 || empty.CostPerCustomer != 0 || empty.BudgetUtilisationPct != 0 {
		t.Errorf("empty selection ratios %+v, want all 0", empty)
	}
}
