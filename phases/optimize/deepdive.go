package optimize

// DeepDiveTopCustomers is the number of selected customers listed per
// segment in the deep-dive, best v/cost first.
const DeepDiveTopCustomers = 10

// DeepDive is the segment deep-dive of one optimisation: how each tenure
// segment was screened, what the selection took from it and where the
// selection stopped.
type DeepDive struct {
	Request  Request           `json:"request"`
	Solver   string            `json:"solver"`
	Optimal  bool              `json:"optimal"`
	Segments []SegmentDeepDive `json:"segments"`
}

// SegmentDeepDive describes one tenure segment. Money is in dollars,
// uplift is a probability difference and tenure is in months. Means over
// an empty group are 0, so no field is ever NaN.
type SegmentDeepDive struct {
	Segment Segment `json:"segment"`
	// TenureMonths is the tenure range of the segment, such as "12-35".
	TenureMonths string  `json:"tenure_months"`
	UnitCost     float64 `json:"unit_cost"`

	// Customers counts the customers of the split in the segment, and the
	// next five fields split them by eligibility status.
	Customers            int `json:"customers"`
	Eligible             int `json:"eligible"`
	ExcludedLowUplift    int `json:"excluded_low_uplift"`
	ExcludedSleepingDogs int `json:"excluded_sleeping_dogs"`
	ExcludedChurned      int `json:"excluded_churned"`
	NotEligible          int `json:"not_eligible"`

	Minimum  int `json:"minimum"`
	Selected int `json:"selected"`
	// SelectionRate is Selected / Eligible.
	SelectionRate float64 `json:"selection_rate"`

	TotalCost        float64 `json:"total_cost"`
	IncrementalValue float64 `json:"incremental_value"`
	NetValue         float64 `json:"net_value"`
	// ROI is NetValue / TotalCost.
	ROI float64 `json:"roi"`
	// SpendShare is this segment's part of the campaign's total cost.
	SpendShare float64 `json:"spend_share"`

	// Means over the selected customers and over all eligible customers.
	MeanCLVSelected      float64 `json:"mean_clv_selected"`
	MeanUpliftSelected   float64 `json:"mean_uplift_selected"`
	MeanTenureSelected   float64 `json:"mean_tenure_selected"`
	MeanCLVEligible      float64 `json:"mean_clv_eligible"`
	MeanUpliftEligible   float64 `json:"mean_uplift_eligible"`
	MeanValueEligible    float64 `json:"mean_incremental_value_eligible"`
	MeanNetValueEligible float64 `json:"mean_net_value_eligible"`

	// LowestSelectedRatio is the smallest v/cost among the selected
	// customers, and HighestSkippedRatio the largest among the eligible
	// ones left out: the selection's cut-off in this segment. Each is 0
	// when its group is empty.
	LowestSelectedRatio float64 `json:"lowest_selected_ratio"`
	HighestSkippedRatio float64 `json:"highest_skipped_ratio"`

	// TopSelected lists up to DeepDiveTopCustomers selected customers,
	// highest v/cost first.
	TopSelected []DeepDiveCustomer `json:"top_selected"`
}

// DeepDiveCustomer is one customer in a segment deep-dive.
type DeepDiveCustomer struct {
	ID               string  `json:"customerID"`
	CLV              float64 `json:"clv"`
	Uplift           float64 `json:"uplift"`
	IncrementalValue float64 `json:"incremental_value"`
	TreatmentCost    float64 `json:"treatment_cost"`
	// Ratio is v / cost.
	Ratio float64 `json:"ratio"`
}

// tenureRanges names the tenure range of each segment in months.
var tenureRanges = [numSegments]string{"0-11", "12-35", "36+"}

// SegmentDeepDive returns the deep-dive of every segment of the split.
func (r *Report) SegmentDeepDive() DeepDive {
	d := DeepDive{Request: r.Request, Solver: r.Solver, Optimal: r.Optimal}
	var totalCost int64
	for row, c := range r.customers {
		if r.selected[row] {
			totalCost += c.CostCents
		}
	}
	for _, seg := range Segments {
		d.Segments = append(d.Segments, r.segmentDeepDive(seg, totalCost))
	}
	return d
}

func (r *Report) segmentDeepDive(seg Segment, campaignCostCents int64) SegmentDeepDive {
	out := SegmentDeepDive{Segment: seg, TenureMonths: tenureRanges[seg]}
	var selected []Customer // in table order, so the sums keep their order
	var sumCLV, sumUplift, sumValue, sumNet float64
	for row, c := range r.customers {
		if c.Segment != seg {
			continue
		}
		out.Customers++
		switch c.Status {
		case StatusLowUplift:
			out.ExcludedLowUplift++
			if c.Uplift < 0 {
				out.ExcludedSleepingDogs++
			}
		case StatusChurned:
			out.ExcludedChurned++
		case StatusNotEligible:
			out.NotEligible++
		case StatusEligible:
			out.Eligible++
			sumCLV += c.CLV
			sumUplift += c.Uplift
			sumValue += dollars(c.ValueCents)
			sumNet += dollars(c.NetCents())
			if r.selected[row] {
				selected = append(selected, c)
			}
		}
	}
	for _, s := range r.Segments {
		if s.Segment == seg {
			out.UnitCost, out.Minimum = s.UnitCost, s.Minimum
		}
	}
	if out.Eligible > 0 {
		n := float64(out.Eligible)
		out.MeanCLVEligible = sumCLV / n
		out.MeanUpliftEligible = sumUplift / n
		out.MeanValueEligible = sumValue / n
		out.MeanNetValueEligible = sumNet / n
	}

	out.Selected = len(selected)
	if out.Eligible > 0 {
		out.SelectionRate = float64(out.Selected) / float64(out.Eligible)
	}
	var cost, value int64
	var clv, uplift, tenure float64
	for _, c := range selected {
		cost += c.CostCents
		value += c.ValueCents
		clv += c.CLV
		uplift += c.Uplift
		tenure += c.TenureMonths
	}
	out.TotalCost = dollars(cost)
	out.IncrementalValue = dollars(value)
	out.NetValue = dollars(value - cost)
	if cost > 0 {
		out.ROI = float64(value-cost) / float64(cost)
	}
	if campaignCostCents > 0 {
		out.SpendShare = float64(cost) / float64(campaignCostCents)
	}
	if n := float64(len(selected)); n > 0 {
		out.MeanCLVSelected = clv / n
		out.MeanUpliftSelected = uplift / n
		out.MeanTenureSelected = tenure / n
	}

	// The prepared order lists the eligible rows by v/cost descending, so
	// the first skipped row of the segment has the highest skipped ratio
	// and the last selected row the lowest selected one.
	var top []Customer
	lowest, skippedSeen := -1, false
	for _, row := range r.render().byRatio {
		c := r.customers[row]
		if c.Segment != seg {
			continue
		}
		switch {
		case r.selected[row]:
			lowest = row
			if len(top) < DeepDiveTopCustomers {
				top = append(top, c)
			}
		case !skippedSeen:
			skippedSeen = true
			out.HighestSkippedRatio = ratio(c)
		}
	}
	if lowest >= 0 {
		out.LowestSelectedRatio = ratio(r.customers[lowest])
	}
	for _, c := range top {
		out.TopSelected = append(out.TopSelected, DeepDiveCustomer{
			ID:               c.ID,
			CLV:              c.CLV,
			Uplift:           c.Uplift,
			IncrementalValue: dollars(c.ValueCents),
			TreatmentCost:    dollars(c.CostCents),
			Ratio:            ratio(c),
		})
	}
	if out.TopSelected == nil {
		out.TopSelected = []DeepDiveCustomer{}
	}
	return out
}

// ratio returns v / cost of a customer, whose cost is always positive.
func ratio(c Customer) float64 { return float64(c.ValueCents) / float64(c.CostCents) }
