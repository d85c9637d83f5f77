// Package dataset holds the processed customer table that the pipeline
// phases pass to each other, and its CSV form on disk.
//
// A Frame is the output of Phase 1 for one split: one row per customer with
// the churn event E, the tenure T in months, and the encoded feature matrix.
// Later phases find the columns they need by name, using the constants below,
// so the column order of the encoder is never assumed.
package dataset

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Split names, used in file names, API requests and metrics keys.
const (
	Train = "train"
	Val   = "val"
	Test  = "test"
)

// Splits lists the split names in pipeline order.
var Splits = []string{Train, Val, Test}

// Raw input column names of the Telco schema.
const (
	ColCustomerID     = "customerID"
	ColTenure         = "tenure"
	ColMonthlyCharges = "MonthlyCharges"
	ColSeniorCitizen  = "SeniorCitizen"
	ColTotalCharges   = "TotalCharges"
	ColChurn          = "Churn"
	// ColTreatment and ColRetained are optional: when both are present the
	// input carries real campaign data (treatment 0/1, retained 0/1).
	ColTreatment = "treatment"
	ColRetained  = "retained"
)

// CategoricalColumns lists the 15 categorical input columns in Telco order.
var CategoricalColumns = []string{
	"gender", "Partner", "Dependents", "PhoneService", "MultipleLines",
	"InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
	"TechSupport", "StreamingTV", "StreamingMovies", "Contract",
	"PaperlessBilling", "PaymentMethod",
}

// NumericColumns lists the numeric feature columns. They keep their units:
// MonthlyCharges in dollars, tenure in months, SeniorCitizen as 0/1.
var NumericColumns = []string{ColMonthlyCharges, ColSeniorCitizen, ColTenure}

// OneHot returns the feature name of the indicator for value of a
// categorical column, for example OneHot("Contract", "Two year") is
// "Contract_Two year".
func OneHot(column, value string) string { return column + "_" + value }

// Feature names that Phase 3's data-generating process reads.
var (
	FeatMonthToMonth   = OneHot("Contract", "Month-to-month")
	FeatOneYear        = OneHot("Contract", "One year")
	FeatTwoYear        = OneHot("Contract", "Two year")
	FeatOnlineSecNo    = OneHot("OnlineSecurity", "No")
	FeatTechSupportNo  = OneHot("TechSupport", "No")
	FeatFiberOptic     = OneHot("InternetService", "Fiber optic")
	FeatDSL            = OneHot("InternetService", "DSL")
	FeatNoInternet     = OneHot("InternetService", "No")
	FeatMonthlyCharges = ColMonthlyCharges
	FeatTenure         = ColTenure
	FeatSeniorCitizen  = ColSeniorCitizen
)

// ErrNoColumn is returned when a Frame has no feature of the requested name.
var ErrNoColumn = errors.New("no such feature column")

// Frame is one split of the processed data. All slices have one entry per
// row, in the same order; X has one row per customer and one column per
// entry of Names.
type Frame struct {
	IDs    []string
	Event  []float64 // E: 1 if the customer churned, else 0
	Tenure []float64 // T: tenure in months
	Names  []string  // feature names, in the column order of X
	X      *mat.Dense

	// Treatment and Retained are nil unless the input had real campaign
	// data; then both are 0/1 per row.
	Treatment []float64
	Retained  []float64
}

// Len returns the number of rows.
func (f *Frame) Len() int { return len(f.IDs) }

// Index returns the column of the named feature, or -1 when absent.
func (f *Frame) Index(name string) int {
	for j, n := range f.Names {
		if n == name {
			return j
		}
	}
	return -1
}

// Col returns a copy of the named feature column. A missing name returns an
// error wrapping ErrNoColumn.
func (f *Frame) Col(name string) ([]float64, error) {
	j := f.Index(name)
	if j < 0 {
		return nil, fmt.Errorf("%w: %q", ErrNoColumn, name)
	}
	return mat.Col(nil, j, f.X), nil
}

// ColOrZero returns the named feature column, or zeros when the category
// never occurred in training and so has no column.
func (f *Frame) ColOrZero(name string) []float64 {
	c, err := f.Col(name)
	if err != nil {
		return make([]float64, f.Len())
	}
	return c
}

// HasTreatment reports whether the frame carries real campaign data.
func (f *Frame) HasTreatment() bool { return f.Treatment != nil && f.Retained != nil }

// Validate checks that every per-row slice has the same length as IDs and
// that X matches the feature names.
func (f *Frame) Validate() error {
	n := len(f.IDs)
	if len(f.Event) != n || len(f.Tenure) != n {
		return fmt.Errorf("frame: %d ids but %d events and %d tenures", n, len(f.Event), len(f.Tenure))
	}
	if f.X == nil {
		return errors.New("frame: nil feature matrix")
	}
	r, c := f.X.Dims()
	if r != n || c != len(f.Names) {
		return fmt.Errorf("frame: feature matrix is %dx%d, want %dx%d", r, c, n, len(f.Names))
	}
	if f.Treatment != nil && len(f.Treatment) != n || f.Retained != nil && len(f.Retained) != n {
		return fmt.Errorf("frame: treatment or retained length differs from %d rows", n)
	}
	return nil
}

// Select returns a new Frame with the named features only, in the given
// order. It is used to drop leaking or redundant features before a model.
func (f *Frame) Select(names []string) (*Frame, error) {
	idx := make([]int, len(names))
	for k, name := range names {
		idx[k] = f.Index(name)
		if idx[k] < 0 {
			return nil, fmt.Errorf("%w: %q", ErrNoColumn, name)
		}
	}
	n := f.Len()
	if n == 0 || len(names) == 0 {
		return nil, fmt.Errorf("frame: cannot select %d features from %d rows", len(names), n)
	}
	x := mat.NewDense(n, len(names), nil)
	for i := 0; i < n; i++ {
		for k, j := range idx {
			x.Set(i, k, f.X.At(i, j))
		}
	}
	out := *f
	out.Names = append([]string(nil), names...)
	out.X = x
	return &out, nil
}

// Without returns the feature names of f minus the excluded ones.
func (f *Frame) Without(excluded ...string) []string {
	skip := make(map[string]bool, len(excluded))
	for _, e := range excluded {
		skip[e] = true
	}
	var names []string
	for _, n := range f.Names {
		if !skip[n] {
			names = append(names, n)
		}
	}
	return names
}
