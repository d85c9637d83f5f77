package optimize

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files lists the paths that WriteFiles wrote.
type Files struct {
	CRMExport string `json:"crm_export"`
	Report    string `json:"report"`
	Summary   string `json:"summary"`
}

// CRM export recommendations.
const (
	RecommendTreat   = "treat"
	RecommendNoTreat = "do not treat"
)

// crmHeader lists the CRM export columns. Money columns are dollars.
var crmHeader = []string{
	"customerID", "clv", "uplift", "incremental_value", "treatment_cost",
	"segment", "treatment_recommendation", "priority_score",
}

// WriteFiles writes the CRM export (stem_crm_export.csv), the report JSON
// (stem_report.json) and the Markdown summary (stem_summary.md) into dir,
// which must exist. Each file is written to a temporary file in dir and
// renamed into place, so a reader never sees a partial file. The stem must
// be a plain file-name prefix without path separators.
func (r *Report) WriteFiles(dir, stem string) (Files, error) {
	if stem == "" || stem == "." || stem == ".." || strings.ContainsAny(stem, `/\`) {
		return Files{}, fmt.Errorf("write optimize files: invalid file stem %q, expected a name without path separators", stem)
	}
	if r.customers == nil {
		return Files{}, errors.New("write optimize files: report has no customers, because it was decoded from JSON rather than built by Optimize")
	}
	f := Files{
		CRMExport: filepath.Join(dir, stem+"_crm_export.csv"),
		Report:    filepath.Join(dir, stem+"_report.json"),
		Summary:   filepath.Join(dir, stem+"_summary.md"),
	}
	if err := writeFileAtomic(f.CRMExport, r.writeCRM); err != nil {
		return Files{}, fmt.Errorf("write crm export: %w", err)
	}
	if err := writeFileAtomic(f.Report, r.writeJSON); err != nil {
		return Files{}, fmt.Errorf("write report json: %w", err)
	}
	summary := func(w io.Writer) error { return r.writeSummary(w, filepath.Base(f.CRMExport)) }
	if err := writeFileAtomic(f.Summary, summary); err != nil {
		return Files{}, fmt.Errorf("write summary: %w", err)
	}
	return f, nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory and renames it into place.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	buf := bufio.NewWriter(tmp)
	if err := write(buf); err != nil {
		return err
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// priorities returns the dense rank of v/cost for every customer, 1 for the
// highest ratio. Equal ratios share a rank.
func (r *Report) priorities() []int {
	order := make([]int, len(r.customers))
	for i := range order {
		order[i] = i
	}
	byRatio := func(i, j int) int {
		a, b := r.customers[i], r.customers[j]
		return -compareRatios(a.ValueCents, a.CostCents, b.ValueCents, b.CostCents)
	}
	slices.SortStableFunc(order, byRatio)
	rank := make([]int, len(r.customers))
	for k, i := range order {
		switch {
		case k == 0:
			rank[i] = 1
		case byRatio(order[k-1], i) == 0:
			rank[i] = rank[order[k-1]]
		default:
			rank[i] = rank[order[k-1]] + 1
		}
	}
	return rank
}

// writeCRM writes one row per customer of the split: the selected ones
// first, each group by priority and then customer ID.
func (r *Report) writeCRM(w io.Writer) error {
	rank := r.priorities()
	rows := make([]int, len(r.customers))
	for i := range rows {
		rows[i] = i
	}
	slices.SortFunc(rows, func(i, j int) int {
		if r.selected[i] != r.selected[j] {
			if r.selected[i] {
				return -1
			}
			return 1
		}
		if rank[i] != rank[j] {
			return rank[i] - rank[j]
		}
		return strings.Compare(r.customers[i].ID, r.customers[j].ID)
	})

	cw := csv.NewWriter(w)
	if err := cw.Write(crmHeader); err != nil {
		return err
	}
	for _, i := range rows {
		c := r.customers[i]
		recommendation := RecommendNoTreat
		if r.selected[i] {
			recommendation = RecommendTreat
		}
		rec := []string{
			c.ID,
			strconv.FormatFloat(c.CLV, 'f', 2, 64),
			strconv.FormatFloat(c.Uplift, 'f', 6, 64),
			strconv.FormatFloat(dollars(c.ValueCents), 'f', 2, 64),
			strconv.FormatFloat(dollars(c.CostCents), 'f', 2, 64),
			c.Segment.String(),
			recommendation,
			strconv.Itoa(rank[i]),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
