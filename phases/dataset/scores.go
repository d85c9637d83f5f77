package dataset

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Uplift model names, used in requests, file columns and metrics keys.
const (
	ModelSLearner  = "s_learner"
	ModelDRLearner = "dr_learner"
	ModelEnsemble  = "ensemble"
)

// Models lists the uplift model names.
var Models = []string{ModelSLearner, ModelDRLearner, ModelEnsemble}

// Scores is the per-customer table that Phase 3 writes for one split and
// Phase 4 reads: everything the budget optimiser needs, with no features.
type Scores struct {
	IDs     []string
	Churned []float64 // E: 1 if the customer churned
	Tenure  []float64 // months
	P0      []float64 // base 6-month churn probability, 1 - S(6|x)
	CLV     []float64 // predicted 6-month CLV in dollars
	// TrueUplift is the generated ground truth, nil for real campaign data.
	TrueUplift []float64
	// Uplift maps a model name to its predicted uplift per customer.
	Uplift map[string][]float64
}

// Len returns the number of customers.
func (s *Scores) Len() int { return len(s.IDs) }

var scoreFixed = []string{ColCustomerID, "churned", "tenure", "p0", "clv", "true_uplift"}

// WriteScores writes s as CSV with the columns customerID, churned, tenure,
// p0, clv, true_uplift (blank when absent) and one column per model in
// Models order.
func WriteScores(w io.Writer, s *Scores) error {
	cw := csv.NewWriter(w)
	var models []string
	for _, m := range Models {
		if _, ok := s.Uplift[m]; ok {
			models = append(models, m)
		}
	}
	if err := cw.Write(append(slices.Clone(scoreFixed), models...)); err != nil {
		return err
	}
	rec := make([]string, len(scoreFixed)+len(models))
	for i := range s.IDs {
		rec[0] = s.IDs[i]
		rec[1] = formatFloat(s.Churned[i])
		rec[2] = formatFloat(s.Tenure[i])
		rec[3] = formatFloat(s.P0[i])
		rec[4] = formatFloat(s.CLV[i])
		rec[5] = ""
		if s.TrueUplift != nil {
			rec[5] = formatFloat(s.TrueUplift[i])
		}
		for k, m := range models {
			rec[len(scoreFixed)+k] = formatFloat(s.Uplift[m][i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadScores reads a table written by WriteScores. A missing column, a
// non-finite or unparsable number is an error naming the line.
func ReadScores(r io.Reader) (*Scores, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read scores header: %w", err)
	}
	if len(header) < len(scoreFixed) || !slices.Equal(header[:len(scoreFixed)], scoreFixed) {
		return nil, fmt.Errorf("scores header %v does not start with %v", header, scoreFixed)
	}
	models := header[len(scoreFixed):]
	s := &Scores{Uplift: make(map[string][]float64, len(models))}
	hasTruth := true
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read scores: %w", err)
		}
		nums := make([]float64, len(rec))
		for k := 1; k < len(rec); k++ {
			if k == 5 && rec[k] == "" {
				hasTruth = false
				continue
			}
			v, err := strconv.ParseFloat(rec[k], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("scores line %d: column %s: invalid number %q", line, header[k], rec[k])
			}
			nums[k] = v
		}
		s.IDs = append(s.IDs, rec[0])
		s.Churned = append(s.Churned, nums[1])
		s.Tenure = append(s.Tenure, nums[2])
		s.P0 = append(s.P0, nums[3])
		s.CLV = append(s.CLV, nums[4])
		s.TrueUplift = append(s.TrueUplift, nums[5])
		for k, m := range models {
			s.Uplift[m] = append(s.Uplift[m], nums[len(scoreFixed)+k])
		}
	}
	if !hasTruth {
		s.TrueUplift = nil
	}
	return s, nil
}

// formatFloat writes the shortest representation that reads back exactly.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
