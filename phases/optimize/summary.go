package optimize

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// writeSummary writes a one-page Markdown summary of the report.
func (r *Report) writeSummary(w io.Writer, crmName string) error {
	var b strings.Builder
	m := r.Metrics

	fmt.Fprintf(&b, "# Retention campaign plan: %s split, %s model\n\n", r.Request.Split, r.Request.Model)
	fmt.Fprintf(&b, "Generated %s. Budget %s; selection by the %s solver, %s.\n\n",
		r.GeneratedAt.Format(time.RFC3339), formatCents(r.BudgetCents), r.Solver, optimality(r.Optimal, r.Gap))
	fmt.Fprintf(&b, "Treat **%d** of %d customers for %s, which adds an expected %s of 6-month CLV: a net value of **%s** (ROI %.1f%%).\n\n",
		m.CustomersSelected, r.Exclusions.Total, formatDollars(m.TotalCost), formatDollars(m.IncrementalCLVImpact),
		formatDollars(m.NetValue), 100*m.ROI)

	b.WriteString("## Metrics\n\n| Metric | Value |\n| --- | ---: |\n")
	rows := [][2]string{
		{"Customers selected", fmt.Sprint(m.CustomersSelected)},
		{"Total cost", formatDollars(m.TotalCost)},
		{"Incremental CLV impact", formatDollars(m.IncrementalCLVImpact)},
		{"Net value", formatDollars(m.NetValue)},
		{"ROI", fmt.Sprintf("%.1f%%", 100*m.ROI)},
		{"Cost per customer", formatDollars(m.CostPerCustomer)},
		{"Value per dollar", fmt.Sprintf("%.2f", m.ValuePerDollar)},
		{"Budget utilisation", fmt.Sprintf("%.2f%%", m.BudgetUtilisationPct)},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}

	b.WriteString("\n## Segments\n\n")
	b.WriteString("| Segment | Cost each | Customers | Eligible | Minimum | Selected | Spend | Incremental value | Net value |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range r.Segments {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %s | %s | %s |\n",
			s.Segment, formatDollars(s.UnitCost), s.Customers, s.Eligible, s.Minimum, s.Selected,
			formatDollars(s.TotalCost), formatDollars(s.IncrementalValue), formatDollars(s.NetValue))
	}

	c := r.Comparison
	b.WriteString("\n## Greedy and exact solvers\n\n")
	b.WriteString("| Solver | Selected | Spend | Net value | Proven optimal | Gap | Solve time |\n")
	b.WriteString("| --- | ---: | ---: | ---: | --- | ---: | ---: |\n")
	for _, s := range []SolverSummary{c.Greedy, c.Exact} {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.4f%% | %.3f s |\n",
			s.Solver, s.CustomersSelected, formatDollars(s.TotalCost), formatDollars(s.NetValue),
			yesNo(s.Optimal), 100*s.Gap, s.SolveSeconds)
	}
	fmt.Fprintf(&b, "\nThe exact solution adds %s of net value over the greedy one; greedy reaches %.2f%% of it.\n",
		formatDollars(c.NetValueGain), 100*c.GreedyShare)

	ex := r.Exclusions
	b.WriteString("\n## Excluded customers\n\n")
	fmt.Fprintf(&b, "- Uplift below %g: %d, of which %d sleeping dogs (uplift below zero)\n", r.Settings.MinUplift, ex.LowUplift, ex.SleepingDogs)
	if r.Settings.IncludeChurned {
		b.WriteString("- Already churned: included in selection by setting\n")
	} else {
		fmt.Fprintf(&b, "- Already churned: %d\n", ex.Churned)
	}
	fmt.Fprintf(&b, "- Incremental value not above the treatment cost: %d\n", ex.NotEligible)
	fmt.Fprintf(&b, "\nEvery customer of the split is listed in `%s`, selected customers first, by priority.\n", crmName)

	_, err := io.WriteString(w, b.String())
	return err
}

func optimality(optimal bool, gap float64) string {
	if optimal {
		return "proven optimal"
	}
	return fmt.Sprintf("not proven optimal (gap to the upper bound %.4f%%)", 100*gap)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatDollars formats a dollar amount that is already rounded to cents.
func formatDollars(d float64) string { return formatCents(int64(math.Round(d * 100))) }
