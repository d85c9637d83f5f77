package uplift

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/ecomopti/ecomopti/phases/artifact"
	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Artifact file names. Per-split files take the split name, for example
// uplift_test.csv.
const (
	scoresFilePattern    = "uplift_%s.csv"
	treatmentFilePattern = "treatment_%s.csv"
	EvaluationFile       = "evaluation.json"
	ModelsFile           = "models.json"
)

// ScoresFile returns the name of the scores table of a split, which Phase 4
// reads with dataset.ReadScores.
func ScoresFile(split string) string { return fmt.Sprintf(scoresFilePattern, split) }

// TreatmentFile returns the name of the treatment table of a split.
func TreatmentFile(split string) string { return fmt.Sprintf(treatmentFilePattern, split) }

var treatmentHeader = []string{dataset.ColCustomerID, "treatment", "retained", "propensity", "true_uplift", "true_propensity"}

// Save writes the artifacts into dir, which must exist. Per split it writes
// the scores table (ScoresFile) and the treatment table (TreatmentFile).
// The treatment table has the columns customerID, treatment, retained,
// propensity (the calibrated estimate), true_uplift and true_propensity,
// and the last two are blank for real campaign data. EvaluationFile and
// ModelsFile follow. Each file is written to a temporary file in dir and
// renamed into place.
func (r *Result) Save(dir string) error {
	evals := make(map[string]map[string]Evaluation)
	for _, split := range dataset.Splits {
		out, ok := r.Splits[split]
		if !ok {
			return fmt.Errorf("save uplift: missing split %s", split)
		}
		err := artifact.WriteAtomic(dir, ScoresFile(split), func(w io.Writer) error {
			return dataset.WriteScores(w, out.Scores)
		})
		if err != nil {
			return fmt.Errorf("save uplift scores: %w", err)
		}
		if err := artifact.WriteAtomic(dir, TreatmentFile(split), out.writeTreatment); err != nil {
			return fmt.Errorf("save uplift treatment: %w", err)
		}
		if out.Evaluation != nil {
			evals[split] = out.Evaluation
		}
	}
	if err := writeJSON(dir, EvaluationFile, evals); err != nil {
		return fmt.Errorf("save uplift evaluation: %w", err)
	}
	if err := writeJSON(dir, ModelsFile, r.Models); err != nil {
		return fmt.Errorf("save uplift models: %w", err)
	}
	return nil
}

func (s *SplitResult) writeTreatment(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(treatmentHeader); err != nil {
		return err
	}
	optionalCell := func(v []float64, i int) string {
		if v == nil {
			return ""
		}
		return formatFloat(v[i])
	}
	for i, id := range s.Scores.IDs {
		rec := []string{
			id,
			formatFloat(s.Treatment[i]),
			formatFloat(s.Retained[i]),
			formatFloat(s.Propensity[i]),
			optionalCell(s.Scores.TrueUplift, i),
			optionalCell(s.TruePropensity, i),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Load reads the artifacts that Save wrote into dir. A missing file, a
// table whose customer IDs differ from the scores table, or an invalid
// number is an error naming the file.
func Load(dir string) (*Result, error) {
	r := &Result{Splits: make(map[string]*SplitResult, len(dataset.Splits))}
	if err := readJSON(dir, ModelsFile, &r.Models); err != nil {
		return nil, fmt.Errorf("load uplift models: %w", err)
	}
	var evals map[string]map[string]Evaluation
	if err := readJSON(dir, EvaluationFile, &evals); err != nil {
		return nil, fmt.Errorf("load uplift evaluation: %w", err)
	}
	for _, split := range dataset.Splits {
		scores, err := readScoresFile(filepath.Join(dir, ScoresFile(split)))
		if err != nil {
			return nil, fmt.Errorf("load uplift scores: %w", err)
		}
		out := &SplitResult{Scores: scores, Evaluation: evals[split]}
		if err := out.readTreatment(filepath.Join(dir, TreatmentFile(split))); err != nil {
			return nil, fmt.Errorf("load uplift treatment: %w", err)
		}
		r.Splits[split] = out
	}
	return r, nil
}

func readScoresFile(path string) (*dataset.Scores, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := dataset.ReadScores(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readTreatment fills Treatment, Retained, Propensity and TruePropensity
// from a treatment table, whose rows must match s.Scores.IDs in order.
func (s *SplitResult) readTreatment(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()

	cr := csv.NewReader(bufio.NewReader(f))
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: read header: %w", path, err)
	}
	if !slices.Equal(header, treatmentHeader) {
		return fmt.Errorf("%s: header %v, expected %v", path, header, treatmentHeader)
	}
	rows, err := cr.ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) != s.Scores.Len() {
		return fmt.Errorf("%s: %d rows, scores table has %d", path, len(rows), s.Scores.Len())
	}

	n := len(rows)
	s.Treatment, s.Retained, s.Propensity = make([]float64, n), make([]float64, n), make([]float64, n)
	truePropensity := make([]float64, n)
	blank := false
	for i, rec := range rows {
		line := i + 2
		if rec[0] != s.Scores.IDs[i] {
			return fmt.Errorf("%s line %d: customerID %q, scores table has %q", path, line, rec[0], s.Scores.IDs[i])
		}
		for k, dst := range [][]float64{s.Treatment, s.Retained, s.Propensity} {
			v, err := parseFinite(rec[k+1])
			if err != nil {
				return fmt.Errorf("%s line %d: column %s: %w", path, line, header[k+1], err)
			}
			dst[i] = v
		}

		// true_propensity is blank on every row for real campaign data.
		if rec[5] == "" {
			blank = true
			continue
		}
		v, err := parseFinite(rec[5])
		if err != nil {
			return fmt.Errorf("%s line %d: column %s: %w", path, line, header[5], err)
		}
		truePropensity[i] = v
	}

	if !blank {
		s.TruePropensity = truePropensity
	}
	return nil
}

func parseFinite(cell string) (float64, error) {
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil || !finite(v) {
		return 0, fmt.Errorf("invalid number %q", cell)
	}
	return v, nil
}

// formatFloat writes the shortest representation that parses back exactly.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeJSON(dir, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return artifact.WriteAtomic(dir, name, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

func readJSON(dir, name string, v any) error {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
