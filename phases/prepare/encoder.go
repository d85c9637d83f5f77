package prepare

import (
	"errors"
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Encoder turns records into the feature matrix. It is fitted on the
// training split only and stored as encoder.json.
//
// Features are the numeric columns first, in dataset.NumericColumns order,
// then one indicator per training category of each categorical column, in
// dataset.CategoricalColumns order with categories sorted. Numeric values
// keep their units (dollars, months, 0/1) and are not scaled. The Telco file
// gives 3 numeric and 41 indicator features.
type Encoder struct {
	// Numeric lists the numeric columns in feature order.
	Numeric []string `json:"numeric"`
	// Medians maps each numeric column to its training median, which
	// replaces a missing value. It is 0 when training had no value.
	Medians map[string]float64 `json:"medians"`
	// Categorical lists the categorical columns in feature order.
	Categorical []string `json:"categorical"`
	// Modes maps each categorical column to its most frequent training
	// value, the smallest in byte order among ties, which replaces a missing
	// value. A column with no training value has no entry.
	Modes map[string]string `json:"modes"`
	// Categories maps each categorical column to its sorted training values.
	Categories map[string][]string `json:"categories"`
	// Features lists the feature names in column order.
	Features []string `json:"features"`
}

// TransformStats counts the values that Transform did not take as given,
// per input column.
type TransformStats struct {
	// Imputed counts missing values replaced by the training median or mode.
	Imputed map[string]int
	// Unseen counts categorical values that did not occur in training. They
	// are encoded as all zeros.
	Unseen map[string]int
}

// FitEncoder fits an encoder on the training records. It returns warnings
// for columns without any training value: such a numeric column is imputed
// with 0, and such a categorical column gets no features.
func FitEncoder(train []Record) (*Encoder, []string) {
	e := &Encoder{
		Numeric:     slices.Clone(dataset.NumericColumns),
		Medians:     make(map[string]float64, len(dataset.NumericColumns)),
		Categorical: slices.Clone(dataset.CategoricalColumns),
		Modes:       make(map[string]string, len(dataset.CategoricalColumns)),
		Categories:  make(map[string][]string, len(dataset.CategoricalColumns)),
	}
	var warnings []string
	for _, col := range e.Numeric {
		var values []float64
		for _, r := range train {
			if v, ok := r.Numeric[col]; ok {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			warnings = append(warnings, fmt.Sprintf("%s is blank on every training row; missing values are set to 0", col))
		}
		e.Medians[col] = median(values)
	}
	for _, col := range e.Categorical {
		counts := make(map[string]int)
		for _, r := range train {
			if v, ok := r.Categorical[col]; ok {
				counts[v]++
			}
		}
		cats := make([]string, 0, len(counts))
		for v := range counts {
			cats = append(cats, v)
		}
		slices.Sort(cats)
		e.Categories[col] = cats
		if len(cats) == 0 {
			warnings = append(warnings, fmt.Sprintf("%s is blank on every training row; it gives no features", col))
			continue
		}
		mode := cats[0]
		for _, v := range cats[1:] {
			if counts[v] > counts[mode] {
				mode = v
			}
		}
		e.Modes[col] = mode
	}
	e.Features = e.featureNames()
	return e, warnings
}

// featureNames derives the feature names from the column and category
// lists.
func (e *Encoder) featureNames() []string {
	names := slices.Clone(e.Numeric)
	for _, col := range e.Categorical {
		for _, v := range e.Categories[col] {
			names = append(names, dataset.OneHot(col, v))
		}
	}
	return names
}

// check reports whether a decoded encoder is complete and consistent.
func (e *Encoder) check() error {
	for _, col := range e.Numeric {
		if _, ok := e.Medians[col]; !ok {
			return fmt.Errorf("encoder has no median for %s", col)
		}
	}
	for _, col := range e.Categorical {
		cats := e.Categories[col]
		if !slices.IsSorted(cats) {
			return fmt.Errorf("encoder categories of %s are not sorted", col)
		}
		mode, ok := e.Modes[col]
		if ok != (len(cats) > 0) || ok && !slices.Contains(cats, mode) {
			return fmt.Errorf("encoder mode %q of %s is not one of its categories", mode, col)
		}
	}
	if !slices.Equal(e.Features, e.featureNames()) {
		return errors.New("encoder feature names do not match its columns and categories")
	}
	return nil
}

// Transform encodes rows into a frame with one row per record, in order,
// and counts imputed and unseen values. Rows must be non-empty and either
// all or none of them carry campaign data.
func (e *Encoder) Transform(rows []Record) (*dataset.Frame, TransformStats, error) {
	stats := TransformStats{Imputed: make(map[string]int), Unseen: make(map[string]int)}
	if len(rows) == 0 {
		return nil, stats, errors.New("transform: no rows")
	}
	if len(e.Features) == 0 {
		return nil, stats, errors.New("transform: encoder has no features")
	}

	// Column of each category indicator, by categorical column and value.
	offset := len(e.Numeric)
	column := make(map[string]map[string]int, len(e.Categorical))
	for _, col := range e.Categorical {
		column[col] = make(map[string]int, len(e.Categories[col]))
		for _, v := range e.Categories[col] {
			column[col][v] = offset
			offset++
		}
	}

	campaign := rows[0].Campaign
	f := &dataset.Frame{
		IDs:    make([]string, len(rows)),
		Event:  make([]float64, len(rows)),
		Tenure: make([]float64, len(rows)),
		Names:  slices.Clone(e.Features),
		X:      mat.NewDense(len(rows), len(e.Features), nil),
	}
	if campaign {
		f.Treatment = make([]float64, len(rows))
		f.Retained = make([]float64, len(rows))
	}
	for i, r := range rows {
		if r.Campaign != campaign {
			return nil, stats, fmt.Errorf("transform: line %d: campaign data on some rows only", r.Line)
		}
		f.IDs[i] = r.CustomerID
		if r.Churned {
			f.Event[i] = 1
		}
		f.Tenure[i] = r.Tenure
		if campaign {
			f.Treatment[i] = r.Treatment
			f.Retained[i] = r.Retained
		}

		for j, col := range e.Numeric {
			v, ok := r.Numeric[col]
			if !ok {
				v = e.Medians[col]
				stats.Imputed[col]++
			}
			f.X.Set(i, j, v)
		}
		for _, col := range e.Categorical {
			v, ok := r.Categorical[col]
			if !ok {
				mode, hasMode := e.Modes[col]
				stats.Imputed[col]++
				if !hasMode {
					continue
				}
				v = mode
			}
			j, seen := column[col][v]
			if !seen {
				stats.Unseen[col]++
				continue
			}
			f.X.Set(i, j, 1)
		}
	}
	return f, stats, nil
}

// median returns the median of values, the mean of the two middle values
// for an even count, and 0 for no values.
func median(values []float64) float64 {
	n := len(values)
	if n == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
