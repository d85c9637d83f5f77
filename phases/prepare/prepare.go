// Package prepare is Phase 1 of the pipeline: it reads the raw customer CSV,
// splits it into training, validation and test sets stratified on churn,
// fits the feature encoder on the training split and encodes all three.
//
// Artifacts (see Result.Save): train.csv, val.csv and test.csv in the
// dataset frame CSV form, encoder.json and manifest.json.
package prepare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Defaults of Config.
const (
	SeedDefault            = 42
	HoldoutFractionDefault = 0.3
)

// Config sets the split.
type Config struct {
	// Seed seeds the random generator of the stratified split. Default 42.
	Seed uint64
	// HoldoutFraction is the share of rows held out of training, split in
	// half between validation and test. It must be in (0, 1). Default 0.3.
	HoldoutFraction float64
}

// DefaultConfig returns seed 42 and a held-out fraction of 0.3.
func DefaultConfig() Config {
	return Config{Seed: SeedDefault, HoldoutFraction: HoldoutFractionDefault}
}

// Input is the raw customer file.
type Input struct {
	// Path names the file in the manifest and in error messages only, for
	// example "embedded:telco_sample.csv" for the built-in sample.
	Path string
	// Data is the raw file content.
	Data []byte
}

// Result is the output of Phase 1.
type Result struct {
	Train, Val, Test *dataset.Frame
	Encoder          *Encoder
	Manifest         Manifest
}

// Manifest records where the prepared data came from and what it contains.
// It is stored as manifest.json.
type Manifest struct {
	InputPath   string `json:"input_path"`
	InputSHA256 string `json:"input_sha256"` // hex SHA-256 of the raw file bytes
	InputRows   int    `json:"input_rows"`
	Seed        uint64 `json:"seed"`
	// HoldoutFraction is the share of rows held out of training.
	HoldoutFraction float64        `json:"holdout_fraction"`
	Splits          []SplitSummary `json:"splits"` // train, val, test
	FeatureCount    int            `json:"feature_count"`
	FeatureNames    []string       `json:"feature_names"`
	// ExtraColumns lists input columns that were ignored.
	ExtraColumns []string `json:"extra_columns"`
	// BlankTotalCharges counts rows with a blank TotalCharges, which is
	// allowed because the column is dropped.
	BlankTotalCharges int `json:"blank_total_charges"`
	// Campaign reports whether the input had treatment and retained columns.
	Campaign  bool      `json:"campaign"`
	CreatedAt time.Time `json:"created_at"` // UTC, whole seconds
	// Warnings lists what was repaired in the data, such as blank tenures
	// set to 0 or categories unseen in training.
	Warnings []string `json:"warnings"`
}

// SplitSummary gives the size and churn rate of one split.
type SplitSummary struct {
	Name      string  `json:"name"`
	Rows      int     `json:"rows"`
	Churned   int     `json:"churned"`
	ChurnRate float64 `json:"churn_rate"` // churned / rows
}

// validate rejects a held-out fraction outside (0, 1).
func (c Config) validate() error {
	if !(c.HoldoutFraction > 0 && c.HoldoutFraction < 1) {
		return fmt.Errorf("prepare config: holdout fraction %v outside (0, 1)", c.HoldoutFraction)
	}
	return nil
}

// Run reads in.Data by the rules of Read, splits it and encodes it.
// A defect of the input returns an error that wraps an *InputError and
// matches ErrInvalidInput. Too few churned or retained customers to give
// every split at least 3 of each is such a defect. An invalid cfg or a
// cancelled ctx returns other errors.
func Run(ctx context.Context, in Input, cfg Config, log *slog.Logger) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := in.Path
	if name == "" {
		name = "input"
	}

	table, err := Read(in.Data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(table.ExtraColumns) > 0 {
		log.Info("ignoring extra columns", "columns", table.ExtraColumns)
	}

	// Split.
	churned := make([]bool, len(table.Records))
	for i, r := range table.Records {
		churned[i] = r.Churned
	}
	idx := make(map[string][]int, len(dataset.Splits))
	idx[dataset.Train], idx[dataset.Val], idx[dataset.Test] = stratifiedSplit(churned, cfg.HoldoutFraction, cfg.Seed)
	if err := checkClassCounts(churned, idx); err != nil {
		return nil, fmt.Errorf("split %s by churn: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Fit on training rows only, then encode every split.
	rows := make(map[string][]Record, len(dataset.Splits))
	for _, s := range dataset.Splits {
		for _, i := range idx[s] {
			rows[s] = append(rows[s], table.Records[i])
		}
	}
	enc, frames, encodeWarnings, err := encode(rows)
	if err != nil {
		return nil, err
	}

	res := &Result{
		Train:    frames[dataset.Train],
		Val:      frames[dataset.Val],
		Test:     frames[dataset.Test],
		Encoder:  enc,
		Manifest: newManifest(in, cfg, table, enc),
	}
	if table.BlankTenure > 0 {
		res.Manifest.Warnings = append(res.Manifest.Warnings,
			fmt.Sprintf("tenure is blank on %d rows; they were set to 0 months", table.BlankTenure))
	}
	res.Manifest.Warnings = append(res.Manifest.Warnings, encodeWarnings...)
	for _, s := range dataset.Splits {
		res.Manifest.Splits = append(res.Manifest.Splits, summarize(s, frames[s]))
	}
	logSummary(log, res)
	return res, nil
}

// encode fits the encoder on the training rows and encodes every split. It
// returns warnings for imputed values, categories unseen in training and
// columns without training values.
func encode(rows map[string][]Record) (*Encoder, map[string]*dataset.Frame, []string, error) {
	enc, warnings := FitEncoder(rows[dataset.Train])
	frames := make(map[string]*dataset.Frame, len(dataset.Splits))
	imputed := make(map[string]int)
	for _, s := range dataset.Splits {
		f, stats, err := enc.Transform(rows[s])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encode %s split: %w", s, err)
		}
		frames[s] = f
		for col, n := range stats.Imputed {
			imputed[col] += n
		}
		if w := unseenWarning(s, stats.Unseen); w != "" {
			warnings = append(warnings, w)
		}
	}
	warnings = append(warnings, imputedWarnings(enc, imputed)...)
	return enc, frames, warnings, nil
}

// newManifest fills the manifest fields known before the splits are
// summarized. Warnings and ExtraColumns are empty, not nil, so that the
// JSON shows [].
func newManifest(in Input, cfg Config, table *Table, enc *Encoder) Manifest {
	sum := sha256.Sum256(in.Data)
	return Manifest{
		InputPath:         in.Path,
		InputSHA256:       hex.EncodeToString(sum[:]),
		InputRows:         len(table.Records),
		Seed:              cfg.Seed,
		HoldoutFraction:   cfg.HoldoutFraction,
		FeatureCount:      len(enc.Features),
		FeatureNames:      slices.Clone(enc.Features),
		ExtraColumns:      append([]string{}, table.ExtraColumns...),
		BlankTotalCharges: table.BlankTotalCharges,
		Campaign:          table.Campaign,
		CreatedAt:         time.Now().UTC().Truncate(time.Second),
		Warnings:          []string{},
	}
}

// checkClassCounts returns an *InputError when a split has fewer than
// minPerClass churned or retained customers.
func checkClassCounts(churned []bool, idx map[string][]int) error {
	total := 0
	for _, c := range churned {
		if c {
			total++
		}
	}
	for _, s := range dataset.Splits {
		yes := 0
		for _, i := range idx[s] {
			if churned[i] {
				yes++
			}
		}
		no := len(idx[s]) - yes
		if yes < minPerClass || no < minPerClass {
			return fileError("too few rows to stratify: the input has %d churned and %d retained customers, "+
				"so the %s split would get %d churned and %d retained; every split needs at least %d of each; add customers of the smaller class",
				total, len(churned)-total, s, yes, no, minPerClass)
		}
	}
	return nil
}

// summarize counts the rows and churners of a split.
func summarize(name string, f *dataset.Frame) SplitSummary {
	s := SplitSummary{Name: name, Rows: f.Len()}
	for _, e := range f.Event {
		if e == 1 {
			s.Churned++
		}
	}
	s.ChurnRate = float64(s.Churned) / float64(s.Rows)
	return s
}

// unseenWarning describes the categorical values of a split that did not
// occur in training, or returns "" when there are none.
func unseenWarning(split string, unseen map[string]int) string {
	if len(unseen) == 0 {
		return ""
	}
	var parts []string
	for _, col := range slices.Sorted(maps.Keys(unseen)) {
		parts = append(parts, fmt.Sprintf("%s %d", col, unseen[col]))
	}
	return fmt.Sprintf("%s split: values not seen in training were encoded as all zeros, count per column: %s",
		split, strings.Join(parts, ", "))
}

// imputedWarnings describes the missing values filled in per column, in
// feature order. Tenure is left out because Read already set blanks to 0.
func imputedWarnings(enc *Encoder, imputed map[string]int) []string {
	var out []string
	for _, col := range enc.Numeric {
		if n := imputed[col]; n > 0 && col != dataset.ColTenure {
			out = append(out, fmt.Sprintf("%s is blank on %d rows; they got the training median %g", col, n, enc.Medians[col]))
		}
	}
	for _, col := range enc.Categorical {
		if n := imputed[col]; n > 0 {
			out = append(out, fmt.Sprintf("%s is blank on %d rows; they got the training mode %q", col, n, enc.Modes[col]))
		}
	}
	return out
}

// logSummary logs the split sizes, churn rates, feature count and warnings.
func logSummary(log *slog.Logger, res *Result) {
	m := res.Manifest
	attrs := []any{"rows", m.InputRows, "features", m.FeatureCount}
	for _, s := range m.Splits {
		attrs = append(attrs, s.Name+"_rows", s.Rows, s.Name+"_churn_rate", math.Round(s.ChurnRate*1e4)/1e4)
	}
	if m.BlankTotalCharges > 0 {
		attrs = append(attrs, "blank_total_charges", m.BlankTotalCharges)
	}
	log.Info("prepared data", attrs...)
	for _, w := range m.Warnings {
		log.Warn("input repaired", "warning", w)
	}
}

// Split returns the frame of the named split (dataset.Train, Val or Test),
// or nil for another name.
func (r *Result) Split(name string) *dataset.Frame {
	switch name {
	case dataset.Train:
		return r.Train
	case dataset.Val:
		return r.Val
	case dataset.Test:
		return r.Test
	}
	return nil
}
