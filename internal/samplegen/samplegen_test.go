package samplegen

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/telco_sample.csv from the generator")

// The committed sample: 2,000 rows from seed 7.
const (
	samplePath = "../../testdata/telco_sample.csv"
	sampleRows = 2000
	sampleSeed = 7
)

// TestSampleUpToDate regenerates the committed sample and compares bytes.
// Run go test ./internal/samplegen -update after changing the generator.
func TestSampleUpToDate(t *testing.T) {
	got := Generate(sampleRows, sampleSeed)
	if *update {
		if err := os.WriteFile(samplePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", samplePath, len(got))
	}
	want, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("%v; run go test ./internal/samplegen -update to create it", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from Generate(%d, %d); run go test ./internal/samplegen -update", samplePath, sampleRows, sampleSeed)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(300, 99)
	b := Generate(300, 99)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different output")
	}
	if bytes.Equal(a, Generate(300, 100)) {
		t.Fatal("different seeds gave the same output")
	}
}

func TestGenerateZeroRows(t *testing.T) {
	rows := parse(t, Generate(0, 1))
	if len(rows) != 1 || !slices.Equal(rows[0], Header) {
		t.Fatalf("Generate(0) = %q, want the header only", rows)
	}
}

// col maps a column name to its index in Header.
func col(t *testing.T, name string) int {
	t.Helper()
	k := slices.Index(Header, name)
	if k < 0 {
		t.Fatalf("no column %q", name)
	}
	return k
}

func parse(t *testing.T, data []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestGenerateConsistent checks the row-level rules of the Telco schema on
// 20,000 rows: unique IDs, value ranges and service dependencies.
func TestGenerateConsistent(t *testing.T) {
	rows := parse(t, Generate(20000, 3))
	if !slices.Equal(rows[0], Header) {
		t.Fatalf("header %q, want %q", rows[0], Header)
	}
	rows = rows[1:]
	if len(rows) != 20000 {
		t.Fatalf("%d rows, want 20000", len(rows))
	}
	var (
		id, tenure   = col(t, "customerID"), col(t, "tenure")
		phone, lines = col(t, "PhoneService"), col(t, "MultipleLines")
		internet     = col(t, "InternetService")
		charges      = col(t, "MonthlyCharges")
		total, churn = col(t, "TotalCharges"), col(t, "Churn")
		addOns       = []int{
			col(t, "OnlineSecurity"), col(t, "OnlineBackup"), col(t, "DeviceProtection"),
			col(t, "TechSupport"), col(t, "StreamingTV"), col(t, "StreamingMovies"),
		}
	)
	seen := make(map[string]bool)
	blankTotal := 0
	for i, r := range rows {
		num, letters, ok := strings.Cut(r[id], "-")
		if !ok || len(num) < 4 || len(letters) != 5 || seen[r[id]] {
			t.Fatalf("row %d: bad or repeated id %q", i, r[id])
		}
		seen[r[id]] = true

		ten, err := strconv.Atoi(r[tenure])
		if err != nil || ten < 0 || ten > 72 {
			t.Fatalf("row %d: tenure %q outside 0..72", i, r[tenure])
		}
		m, err := strconv.ParseFloat(r[charges], 64)
		if err != nil || m < 18.25 || m > 118.75 {
			t.Fatalf("row %d: MonthlyCharges %q outside 18.25..118.75", i, r[charges])
		}
		if r[total] == " " {
			blankTotal++
			if ten != 0 {
				t.Fatalf("row %d: blank TotalCharges with tenure %d", i, ten)
			}
		} else {
			tot, err := strconv.ParseFloat(r[total], 64)
			// Price noise of 3% per row allows 0.8 to 1.2 of tenure x charges.
			if err != nil || tot < 0.8*float64(ten)*m || tot > 1.2*float64(ten)*m {
				t.Fatalf("row %d: TotalCharges %q far from %d months x %v", i, r[total], ten, m)
			}
		}

		if r[phone] == "No" && r[lines] != "No phone service" {
			t.Fatalf("row %d: no phone but MultipleLines %q", i, r[lines])
		}
		if r[phone] == "Yes" && r[lines] == "No phone service" {
			t.Fatalf("row %d: phone but MultipleLines %q", i, r[lines])
		}
		for _, k := range addOns {
			noNet := r[internet] == "No"
			if noNet != (r[k] == "No internet service") {
				t.Fatalf("row %d: InternetService %q but %s %q", i, r[internet], Header[k], r[k])
			}
		}
		if r[churn] != "Yes" && r[churn] != "No" {
			t.Fatalf("row %d: Churn %q", i, r[churn])
		}
	}
	if blankTotal == 0 {
		t.Error("no row with tenure 0 and blank TotalCharges")
	}
}

// share returns the fraction of rows whose column equals value, and the
// churn rate among them.
func share(rows [][]string, column int, value string) (frac, churnRate float64) {
	n, churned := 0, 0
	for _, r := range rows {
		if r[column] == value {
			n++
			if r[len(r)-1] == "Yes" {
				churned++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(n) / float64(len(rows)), float64(churned) / float64(n)
}

// TestGenerateDistribution compares 50,000 generated rows with the real
// Telco file. Contract shares (55/21/24%) and the churn rate (26.5%) must be
// within 2 points. Churn effects must keep their sign with a clear margin.
// In the real file, churn is 43% for month-to-month vs 3% for two year, 42%
// for fiber vs 19% for DSL, 45% for electronic check vs 15-19% for other
// payment methods, and 15% with tech support vs 42% without.
func TestGenerateDistribution(t *testing.T) {
	rows := parse(t, Generate(50000, 5))[1:]
	contract := col(t, "Contract")
	for _, tc := range []struct {
		value string
		want  float64
	}{{"Month-to-month", 0.55}, {"One year", 0.21}, {"Two year", 0.24}} {
		got, _ := share(rows, contract, tc.value)
		if got < tc.want-0.02 || got > tc.want+0.02 {
			t.Errorf("Contract %q share %.3f, want %.2f +- 0.02", tc.value, got, tc.want)
		}
	}

	churned := 0
	for _, r := range rows {
		if r[len(r)-1] == "Yes" {
			churned++
		}
	}
	if rate := float64(churned) / float64(len(rows)); rate < 0.245 || rate > 0.285 {
		t.Errorf("churn rate %.3f, want 0.265 +- 0.02", rate)
	}

	effects := []struct {
		column      string
		high, low   string
		minimumDiff float64 // churn rate of high minus low, at least
	}{
		{"Contract", "Month-to-month", "Two year", 0.30},
		{"Contract", "One year", "Two year", 0.05},
		{"InternetService", "Fiber optic", "DSL", 0.12},
		{"PaymentMethod", "Electronic check", "Credit card (automatic)", 0.12},
		{"TechSupport", "No", "Yes", 0.08},
		{"OnlineSecurity", "No", "Yes", 0.08},
	}
	for _, e := range effects {
		k := col(t, e.column)
		_, hi := share(rows, k, e.high)
		_, lo := share(rows, k, e.low)
		if hi-lo < e.minimumDiff {
			t.Errorf("%s: churn %.3f for %q vs %.3f for %q, want a gap of at least %.2f", e.column, hi, e.high, lo, e.low, e.minimumDiff)
		}
	}

	// Churn falls with tenure: first year against the sixth.
	tenure := col(t, "tenure")
	var n, c [2]int
	for _, r := range rows {
		ten, _ := strconv.Atoi(r[tenure])
		b := -1
		switch {
		case ten < 12:
			b = 0
		case ten >= 60:
			b = 1
		}
		if b >= 0 {
			n[b]++
			if r[len(r)-1] == "Yes" {
				c[b]++
			}
		}
	}
	early, late := float64(c[0])/float64(n[0]), float64(c[1])/float64(n[1])
	if early-late < 0.3 {
		t.Errorf("churn %.3f in the first year vs %.3f after 5 years, want a gap of at least 0.30", early, late)
	}
	// Many new and many long customers: both ends hold at least 15% of rows.
	if f0, f1 := float64(n[0])/float64(len(rows)), float64(n[1])/float64(len(rows)); f0 < 0.15 || f1 < 0.15 {
		t.Errorf("tenure under 12 months %.3f, 60 or more %.3f; want both >= 0.15", f0, f1)
	}
}
