package optimize

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

// File-name suffixes of the analysis outputs; the full name is the stem
// followed by the suffix.
const (
	SuffixSweep      = "_budget_sweep.csv"
	SuffixScenarios  = "_scenarios.csv"
	SuffixComparison = "_greedy_vs_exact.csv"
)

// WriteCSV writes one row per budget: the exact selection's figures and
// the greedy net value. Money is in dollars, gap and ROI are fractions,
// and budget utilisation is a percentage.
func (sw *Sweep) WriteCSV(w io.Writer) error {
	header := []string{
		"budget", "feasible", "solver", "optimal", "gap",
		"customers_selected", "total_cost", "incremental_clv_impact", "net_value", "roi",
		"budget_utilisation_pct", "selected_new", "selected_mid", "selected_long",
		"greedy_net_value", "note",
	}
	rows := make([][]string, 0, len(sw.Points))
	for _, p := range sw.Points {
		m := p.Metrics
		rows = append(rows, []string{
			money(p.Budget), strconv.FormatBool(p.Feasible), p.Solver, strconv.FormatBool(p.Optimal), fraction(p.Gap),
			strconv.Itoa(m.CustomersSelected), money(m.TotalCost), money(m.IncrementalCLVImpact), money(m.NetValue), fraction(m.ROI),
			money(m.BudgetUtilisationPct), segmentCount(m, SegmentNew), segmentCount(m, SegmentMid), segmentCount(m, SegmentLong),
			money(p.GreedyNetValue), p.Note,
		})
	}
	return writeCSV(w, header, rows)
}

// WriteScenariosCSV writes one row per scenario result.
func WriteScenariosCSV(w io.Writer, results []ScenarioResult) error {
	header := []string{
		"scenario", "description", "uplift_factor", "cost_factor", "top_clv_share",
		"customers", "eligible", "feasible", "solver", "optimal",
		"customers_selected", "total_cost", "incremental_clv_impact", "net_value", "roi",
		"budget_utilisation_pct", "greedy_net_value", "net_value_change", "solve_seconds", "note",
	}
	rows := make([][]string, 0, len(results))
	for _, r := range results {
		m := r.Metrics
		rows = append(rows, []string{
			r.Name, r.Description, fraction(r.UpliftFactor), fraction(r.CostFactor), fraction(r.TopCLVShare),
			strconv.Itoa(r.Customers), strconv.Itoa(r.Eligible), strconv.FormatBool(r.Feasible), r.Solver, strconv.FormatBool(r.Optimal),
			strconv.Itoa(m.CustomersSelected), money(m.TotalCost), money(m.IncrementalCLVImpact), money(m.NetValue), fraction(m.ROI),
			money(m.BudgetUtilisationPct), money(r.GreedyNetValue), money(r.NetValueChange), seconds(r.SolveSeconds), r.Note,
		})
	}
	return writeCSV(w, header, rows)
}

// WriteComparisonCSV writes one row per budget with both solvers' figures
// and solve times in seconds.
func WriteComparisonCSV(w io.Writer, rows []BudgetComparison) error {
	header := []string{
		"budget", "feasible",
		"greedy_customers", "greedy_total_cost", "greedy_net_value", "greedy_seconds",
		"exact_solver", "exact_optimal", "exact_gap", "exact_bound",
		"exact_customers", "exact_total_cost", "exact_net_value", "exact_seconds",
		"net_value_gain", "greedy_share_of_exact", "note",
	}
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		g, e := r.Greedy, r.Exact
		out = append(out, []string{
			money(r.Budget), strconv.FormatBool(r.Feasible),
			strconv.Itoa(g.CustomersSelected), money(g.TotalCost), money(g.NetValue), seconds(g.SolveSeconds),
			e.Solver, strconv.FormatBool(e.Optimal), fraction(e.Gap), money(e.Bound),
			strconv.Itoa(e.CustomersSelected), money(e.TotalCost), money(e.NetValue), seconds(e.SolveSeconds),
			money(r.NetValueGain), fraction(r.GreedyShare), r.Note,
		})
	}
	return writeCSV(w, header, out)
}

func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func segmentCount(m Metrics, s Segment) string { return strconv.Itoa(m.SegmentCounts[s.String()]) }

// money formats dollars with two decimals.
func money(d float64) string { return strconv.FormatFloat(finite(d), 'f', 2, 64) }

func fraction(x float64) string { return strconv.FormatFloat(finite(x), 'f', 6, 64) }

func seconds(s float64) string { return strconv.FormatFloat(finite(s), 'f', 6, 64) }

// finite maps NaN and the infinities to 0, so no output ever contains them.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
