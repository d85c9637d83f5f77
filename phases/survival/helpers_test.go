package survival

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// bufferLogger returns a logger that writes text records into the buffer.
func bufferLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newFrame builds a Frame from columns; ids are generated.
func newFrame(t testing.TB, tenure, event []float64, names []string, cols ...[]float64) *dataset.Frame {
	t.Helper()
	n := len(tenure)
	x := mat.NewDense(n, len(names), nil)
	for j, c := range cols {
		if len(c) != n {
			t.Fatalf("column %s has %d rows, want %d", names[j], len(c), n)
		}
		x.SetCol(j, c)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%05d", i)
	}
	f := &dataset.Frame{IDs: ids, Event: event, Tenure: tenure, Names: names, X: x}
	if err := f.Validate(); err != nil {
		t.Fatalf("invalid test frame: %v", err)
	}
	return f
}

// readTiesFrame reads testdata/cox_ties.csv, written by
// testdata/coxph_reference.R, with a "tenure" feature column that the Cox
// model must ignore.
func readTiesFrame(t testing.TB) *dataset.Frame {
	t.Helper()
	raw, err := os.ReadFile("testdata/cox_ties.csv")
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("parse testdata: %v", err)
	}
	var tenure, event, x1, x2, x3 []float64
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[0])
		v := make([]float64, 5)
		for k := range v {
			if v[k], err = strconv.ParseFloat(r[k+1], 64); err != nil {
				t.Fatalf("parse %v: %v", r, err)
			}
		}
		tenure, event = append(tenure, v[0]), append(event, v[1])
		x1, x2, x3 = append(x1, v[2]), append(x2, v[3]), append(x3, v[4])
	}
	f := newFrame(t, tenure, event, []string{"x1", "tenure", "x2", "x3"}, x1, tenure, x2, x3)
	f.IDs = ids
	return f
}

// simulateCox draws n customers with independent standard normal
// covariates, exponential event times with hazard base*exp(x.beta) and
// independent exponential censoring with rate censRate.
func simulateCox(t testing.TB, n int, beta []float64, base, censRate float64, seed uint64) *dataset.Frame {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	p := len(beta)
	names := make([]string, p)
	cols := make([][]float64, p)
	for j := range names {
		names[j] = fmt.Sprintf("x%d", j+1)
		cols[j] = make([]float64, n)
	}
	tenure, event := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		var eta float64
		for j := range beta {
			cols[j][i] = rng.NormFloat64()
			eta += beta[j] * cols[j][i]
		}
		te := rng.ExpFloat64() / (base * math.Exp(eta))
		tc := rng.ExpFloat64() / censRate
		tenure[i] = math.Min(te, tc)
		if te <= tc {
			event[i] = 1
		}
	}
	return newFrame(t, tenure, event, names, cols...)
}

// simulateTelco draws a small Telco-like frame: integer tenure 0..72,
// month-to-month contracts and fibre raise the hazard, and the one-hot
// columns repeat the collinearity of the real encoding.
func simulateTelco(t testing.TB, n int, seed uint64) *dataset.Frame {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	names := []string{
		dataset.ColMonthlyCharges, dataset.ColSeniorCitizen, dataset.ColTenure,
		"Contract_Month-to-month", "Contract_One year", "Contract_Two year",
		"InternetService_DSL", "InternetService_Fiber optic", "InternetService_No",
		"OnlineSecurity_No", "OnlineSecurity_No internet service", "OnlineSecurity_Yes",
		"gender_Female", "gender_Male",
	}
	cols := make([][]float64, len(names))
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	tenure, event := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		contract := rng.IntN(3)
		internet := rng.IntN(3)
		security := rng.IntN(2)
		senior := float64(rng.IntN(5) / 4)
		// Dollars per month: DSL 45-60, fibre 70-100, no internet 20-25.
		charges := []float64{45, 70, 20}[internet] + []float64{15, 30, 5}[internet]*rng.Float64()
		cols[0][i], cols[1][i] = charges, senior
		cols[3+contract][i] = 1
		cols[6+internet][i] = 1
		switch {
		case internet == 2:
			cols[10][i] = 1
		case security == 0:
			cols[9][i] = 1
		default:
			cols[11][i] = 1
		}
		cols[12+rng.IntN(2)][i] = 1

		eta := 1.2*cols[3][i] - 1.0*cols[5][i] + 0.6*cols[7][i] + 0.4*senior + 0.3*cols[9][i]
		te := math.Ceil(rng.ExpFloat64() / (0.01 * math.Exp(eta)))
		tc := float64(rng.IntN(73))
		if te <= tc {
			tenure[i], event[i] = te, 1
		} else {
			tenure[i] = tc
		}
		cols[2][i] = tenure[i]
	}
	return newFrame(t, tenure, event, names, cols...)
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
