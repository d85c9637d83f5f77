package survival

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/ecomopti/ecomopti/phases/artifact"
	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Artifact file names written by Save into the phase directory.
const (
	FileCoxModel    = "cox_model.json"
	FileCoxSummary  = "cox_summary.json"
	FileSummaryCSV  = "cox_summary.csv"
	FileMetrics     = "metrics.json"
	FileRiskCurves  = "km_by_risk_decile.json"
	predictionsStem = "predictions_"
)

// PredictionsFile returns the file name of a split's predictions, for
// example predictions_test.csv.
func PredictionsFile(split string) string { return predictionsStem + split + ".csv" }

var predictionHeader = []string{dataset.ColCustomerID, "s6", "risk", "clv_actual", "clv_pred"}

var summaryHeader = []string{"feature", "coef", "coef_original", "hazard_ratio", "se", "se_original",
	"z", "p", "aliased", "collinear"}

// Save writes the artifacts of r into dir, which must exist. Each file is
// written to a temporary file in dir and renamed, so a crash leaves either
// the old file or the new one.
func (r *Result) Save(dir string) error {
	jsonFiles := []struct {
		name  string
		value any
	}{
		{FileCoxModel, r.Cox},
		{FileCoxSummary, r.Summary},
		{FileMetrics, r.Metrics},
		{FileRiskCurves, r.RiskCurves},
	}
	for _, f := range jsonFiles {
		err := artifact.WriteAtomic(dir, f.name, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(f.value)
		})
		if err != nil {
			return err
		}
	}
	if err := artifact.WriteAtomic(dir, FileSummaryCSV, func(w io.Writer) error { return writeSummaryCSV(w, r.Summary) }); err != nil {
		return err
	}
	for _, split := range dataset.Splits {
		p, ok := r.Predictions[split]
		if !ok {
			return fmt.Errorf("save survival: no predictions for split %q", split)
		}
		err := artifact.WriteAtomic(dir, PredictionsFile(split), func(w io.Writer) error { return writePredictions(w, p) })
		if err != nil {
			return err
		}
	}
	return nil
}

// Load reads the artifacts that Save wrote into dir.
func Load(dir string) (*Result, error) {
	r := &Result{Predictions: make(map[string]*Predictions)}
	jsonFiles := []struct {
		name  string
		value any
	}{
		{FileCoxModel, &r.Cox},
		{FileCoxSummary, &r.Summary},
		{FileMetrics, &r.Metrics},
		{FileRiskCurves, &r.RiskCurves},
	}
	for _, f := range jsonFiles {
		data, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("load survival: %w", err)
		}
		if err := json.Unmarshal(data, f.value); err != nil {
			return nil, fmt.Errorf("load survival %s: %w", f.name, err)
		}
	}
	if r.Cox == nil {
		return nil, fmt.Errorf("load survival %s: no model", FileCoxModel)
	}
	if err := r.Cox.check(); err != nil {
		return nil, fmt.Errorf("load survival %s: %w", FileCoxModel, err)
	}
	for _, split := range dataset.Splits {
		p, err := readPredictionsFile(filepath.Join(dir, PredictionsFile(split)))
		if err != nil {
			return nil, fmt.Errorf("load survival: %w", err)
		}
		r.Predictions[split] = p
	}
	return r, nil
}

// check returns an error when the slices of a loaded model disagree in
// length, which would make Risk or CumHazard index out of range.
func (m *CoxModel) check() error {
	p := len(m.Features)
	if len(m.Means) != p || len(m.Scales) != p || len(m.Coef) != p {
		return fmt.Errorf("model has %d features but %d means, %d scales and %d coefficients",
			p, len(m.Means), len(m.Scales), len(m.Coef))
	}
	if len(m.BaselineTimes) != len(m.BaselineCumHazard) {
		return fmt.Errorf("model has %d baseline times but %d hazards", len(m.BaselineTimes), len(m.BaselineCumHazard))
	}
	if !slices.IsSorted(m.BaselineTimes) {
		return errors.New("model baseline times are not ascending")
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeSummaryCSV(w io.Writer, rows []SummaryRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(summaryHeader); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Feature, formatFloat(r.Coef), formatFloat(r.CoefOriginal), formatFloat(r.HazardRatio),
			formatFloat(r.SE), formatFloat(r.SEOriginal), formatFloat(r.Z), formatFloat(r.P),
			strconv.FormatBool(r.Aliased), strconv.FormatBool(r.Collinear)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writePredictions writes p as CSV with the columns customerID, s6, risk,
// clv_actual and clv_pred.
func writePredictions(w io.Writer, p *Predictions) error {
	n := p.Len()
	if len(p.S6) != n || len(p.Risk) != n || len(p.CLVActual) != n || len(p.CLVPred) != n {
		return fmt.Errorf("predictions: %d ids but %d s6, %d risk, %d clv_actual, %d clv_pred",
			n, len(p.S6), len(p.Risk), len(p.CLVActual), len(p.CLVPred))
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(predictionHeader); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		rec := []string{p.IDs[i], formatFloat(p.S6[i]), formatFloat(p.Risk[i]),
			formatFloat(p.CLVActual[i]), formatFloat(p.CLVPred[i])}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func readPredictionsFile(path string) (*Predictions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := readPredictions(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return p, nil
}

// readPredictions parses the CSV that writePredictions writes. The header
// must match exactly and every value must be a finite number.
func readPredictions(r io.Reader) (*Predictions, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(predictionHeader)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if !slices.Equal(header, predictionHeader) {
		return nil, fmt.Errorf("header %v, expected %v", header, predictionHeader)
	}
	p := &Predictions{}
	cols := []*[]float64{&p.S6, &p.Risk, &p.CLVActual, &p.CLVPred}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		p.IDs = append(p.IDs, rec[0])
		for k, col := range cols {
			v, err := strconv.ParseFloat(rec[k+1], 64)
			if err != nil || !isFinite(v) {
				return nil, fmt.Errorf("line %d: %s %q is not a finite number", line, predictionHeader[k+1], rec[k+1])
			}
			*col = append(*col, v)
		}
	}
	return p, nil
}
