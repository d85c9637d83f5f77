package survival

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// forbiddenPrefixes are the feature-name prefixes that leak the CLV
// target: tenure is the survival time, MonthlyCharges a factor of CLV6,
// and TotalCharges is close to tenure x MonthlyCharges.
var forbiddenPrefixes = []string{dataset.ColTenure, dataset.ColMonthlyCharges, dataset.ColTotalCharges}

// AuditLeakage returns an error wrapping ErrLeakage that names every
// feature in names starting with tenure, MonthlyCharges or TotalCharges,
// compared without regard to case. It returns nil when none does.
func AuditLeakage(names []string) error {
	var leaks []string
	for _, name := range names {
		for _, prefix := range forbiddenPrefixes {
			if strings.HasPrefix(strings.ToLower(name), strings.ToLower(prefix)) {
				leaks = append(leaks, fmt.Sprintf("%q", name))
				break
			}
		}
	}
	if len(leaks) > 0 {
		return fmt.Errorf("%w: CLV features must not include %s", ErrLeakage, strings.Join(leaks, ", "))
	}
	return nil
}

// clvTarget returns CLV6 = s x MonthlyCharges x months in dollars for each
// row, where s is the clipped survival at the horizon.
func clvTarget(f *dataset.Frame, s []float64, months float64) ([]float64, error) {
	charges, err := f.Col(dataset.ColMonthlyCharges)
	if err != nil {
		return nil, fmt.Errorf("clv target: %w", err)
	}
	out := make([]float64, len(s))
	for i := range s {
		out[i] = s[i] * charges[i] * months
		if !isFinite(out[i]) {
			return nil, fmt.Errorf("clv target: %w: row %d (%s) MonthlyCharges %v",
				ErrNonFinite, i, f.IDs[i], charges[i])
		}
	}
	return out, nil
}

// clvErrors are the CLV prediction errors of one split, in dollars except
// MAPE. R2 and MAPE are nil when undefined.
type clvErrors struct {
	mae float64
	// r2 is 1 - SS_res/SS_tot, undefined when the actual values are all
	// equal.
	r2 *float64
	// mape is the mean of |actual - predicted| / actual in percent over
	// the rows with actual > 0, undefined when there are none.
	mape *float64
}

// regressionErrors compares predicted with actual values of equal,
// non-zero length.
func regressionErrors(actual, pred []float64) clvErrors {
	var m clvErrors
	n := float64(len(actual))
	var mean float64
	for _, a := range actual {
		mean += a
	}
	mean /= n
	var absErr, ssRes, ssTot, ape float64
	positive := 0
	for i, a := range actual {
		e := a - pred[i]
		absErr += math.Abs(e)
		ssRes += e * e
		ssTot += (a - mean) * (a - mean)
		if a > 0 {
			ape += math.Abs(e) / a
			positive++
		}
	}
	m.mae = absErr / n
	if ssTot > 0 {
		r2 := 1 - ssRes/ssTot
		m.r2 = &r2
	}
	if positive > 0 {
		mape := 100 * ape / float64(positive)
		m.mape = &mape
	}
	return m
}

// Segment is one cell of the risk x CLV grid on the test split.
type Segment struct {
	// Name is "high_risk_high_clv", "high_risk_low_clv",
	// "low_risk_high_clv" or "low_risk_low_clv".
	Name  string `json:"name"`
	Count int    `json:"count"`
	// MeanCLVPred and MeanCLVActual are in dollars. MeanS6 is the mean
	// clipped survival at the horizon. All three are nil for an empty
	// segment.
	MeanCLVPred   *float64 `json:"mean_clv_pred,omitempty"`
	MeanCLVActual *float64 `json:"mean_clv_actual,omitempty"`
	MeanS6        *float64 `json:"mean_s6,omitempty"`
}

// Segments holds the customer segments and the medians that define them.
type Segments struct {
	// RiskMedian is the median Cox linear predictor and CLVMedian the
	// median predicted CLV (dollars) of the split. A customer is high risk
	// or high CLV when strictly above the median.
	RiskMedian float64   `json:"risk_median"`
	CLVMedian  float64   `json:"clv_median"`
	Segments   []Segment `json:"segments"`
}

// segment splits the customers of p at the medians of risk and predicted
// CLV. p must hold at least one row.
func segment(p *Predictions) Segments {
	out := Segments{RiskMedian: median(p.Risk), CLVMedian: median(p.CLVPred)}
	names := []string{"high_risk_high_clv", "high_risk_low_clv", "low_risk_high_clv", "low_risk_low_clv"}
	type sums struct {
		n                int
		pred, actual, s6 float64
	}
	cells := make([]sums, 4)
	for i := range p.IDs {
		cell := 0
		if !(p.Risk[i] > out.RiskMedian) {
			cell += 2
		}
		if !(p.CLVPred[i] > out.CLVMedian) {
			cell++
		}
		c := &cells[cell]
		c.n++
		c.pred += p.CLVPred[i]
		c.actual += p.CLVActual[i]
		c.s6 += p.S6[i]
	}
	for k, c := range cells {
		seg := Segment{Name: names[k], Count: c.n}
		if c.n > 0 {
			n := float64(c.n)
			pred, actual, s6 := c.pred/n, c.actual/n, c.s6/n
			seg.MeanCLVPred, seg.MeanCLVActual, seg.MeanS6 = &pred, &actual, &s6
		}
		out.Segments = append(out.Segments, seg)
	}
	return out
}

// median returns the median of a non-empty slice, the mean of the two
// middle values for an even length.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
