package optimize

import "math"

// Metrics summarises a selection. Money is in dollars, rounded to cents.
type Metrics struct {
	CustomersSelected int `json:"customers_selected"`
	// TotalCost is the sum of treatment costs.
	TotalCost float64 `json:"total_cost"`
	// IncrementalCLVImpact is the sum of v = u × CLV over the selection.
	IncrementalCLVImpact float64 `json:"incremental_clv_impact"`
	// NetValue is IncrementalCLVImpact - TotalCost. NetProfit repeats it
	// because the HTTP response names both.
	NetValue  float64 `json:"net_value"`
	NetProfit float64 `json:"net_profit"`
	// ROI is NetValue / TotalCost, 0 when nothing is selected.
	ROI float64 `json:"roi"`
	// CostPerCustomer is TotalCost / CustomersSelected, 0 when nothing is
	// selected.
	CostPerCustomer float64 `json:"cost_per_customer"`
	// ValuePerDollar is IncrementalCLVImpact / TotalCost, 0 when nothing is
	// selected.
	ValuePerDollar float64 `json:"value_per_dollar"`
	// BudgetUtilisationPct is 100 × TotalCost / budget, rounded to 0.01.
	BudgetUtilisationPct float64 `json:"budget_utilisation_pct"`
	// SegmentCounts maps a segment name to its selected customers. Every
	// segment appears, with 0 when none is selected.
	SegmentCounts map[string]int `json:"segment_counts"`

	ExcludedSleepingDogs int `json:"excluded_sleeping_dogs"`
	ExcludedChurned      int `json:"excluded_churned"`
	ExcludedLowUplift    int `json:"excluded_low_uplift"`
	NotEligible          int `json:"not_eligible"`
}

// ComputeMetrics returns the metrics of sol over the customers it was
// solved on, with the exclusion counts of the split.
func ComputeMetrics(customers []Customer, sol *Solution, ex Exclusions) Metrics {
	m := Metrics{
		SegmentCounts:        make(map[string]int, numSegments),
		ExcludedSleepingDogs: ex.SleepingDogs,
		ExcludedChurned:      ex.Churned,
		ExcludedLowUplift:    ex.LowUplift,
		NotEligible:          ex.NotEligible,
	}
	for _, s := range Segments {
		m.SegmentCounts[s.String()] = 0
	}

	var cost, value int64
	for _, i := range sol.Selected {
		c := customers[i]
		cost += c.CostCents
		value += c.ValueCents
		m.SegmentCounts[c.Segment.String()]++
	}

	m.CustomersSelected = len(sol.Selected)
	m.TotalCost = dollars(cost)
	m.IncrementalCLVImpact = dollars(value)
	m.NetValue = dollars(value - cost)
	m.NetProfit = m.NetValue

	// Ratios stay 0 for an empty selection, so no NaN reaches the JSON.
	if cost > 0 {
		m.ROI = float64(value-cost) / float64(cost)
		m.ValuePerDollar = float64(value) / float64(cost)
		m.CostPerCustomer = math.Round(float64(cost)/float64(len(sol.Selected))) / 100
	}
	if sol.BudgetCents > 0 {
		m.BudgetUtilisationPct = math.Round(10000*float64(cost)/float64(sol.BudgetCents)) / 100
	}
	return m
}
