package prepare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// telcoFeatures is the expected feature list for data with every Telco
// category: 3 numeric, then 41 indicators in column order, categories
// sorted.
var telcoFeatures = []string{
	"MonthlyCharges", "SeniorCitizen", "tenure",
	"gender_Female", "gender_Male", "Partner_No", "Partner_Yes",
	"Dependents_No", "Dependents_Yes", "PhoneService_No", "PhoneService_Yes",
	"MultipleLines_No", "MultipleLines_No phone service", "MultipleLines_Yes",
	"InternetService_DSL", "InternetService_Fiber optic", "InternetService_No",
	"OnlineSecurity_No", "OnlineSecurity_No internet service", "OnlineSecurity_Yes",
	"OnlineBackup_No", "OnlineBackup_No internet service", "OnlineBackup_Yes",
	"DeviceProtection_No", "DeviceProtection_No internet service", "DeviceProtection_Yes",
	"TechSupport_No", "TechSupport_No internet service", "TechSupport_Yes",
	"StreamingTV_No", "StreamingTV_No internet service", "StreamingTV_Yes",
	"StreamingMovies_No", "StreamingMovies_No internet service", "StreamingMovies_Yes",
	"Contract_Month-to-month", "Contract_One year", "Contract_Two year",
	"PaperlessBilling_No", "PaperlessBilling_Yes",
	"PaymentMethod_Bank transfer (automatic)", "PaymentMethod_Credit card (automatic)",
	"PaymentMethod_Electronic check", "PaymentMethod_Mailed check",
}

// checkSplits checks the split sizes, that the splits partition the input
// IDs, and that the manifest agrees with the frames.
func checkSplits(t *testing.T, res *Result, wantRows [3]int) {
	t.Helper()
	seen := make(map[string]bool)
	for k, s := range dataset.Splits {
		f := res.Split(s)
		if err := f.Validate(); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if f.Len() != wantRows[k] {
			t.Errorf("%s has %d rows, want %d", s, f.Len(), wantRows[k])
		}
		m := res.Manifest.Splits[k]
		if m.Name != s || m.Rows != f.Len() {
			t.Errorf("manifest split %d is %s with %d rows, want %s with %d", k, m.Name, m.Rows, s, f.Len())
		}
		churned := 0.0
		for _, e := range f.Event {
			churned += e
		}
		if m.Churned != int(churned) || math.Abs(m.ChurnRate-churned/float64(f.Len())) > 1e-15 {
			t.Errorf("manifest %s churn %d (%v), frame has %v", s, m.Churned, m.ChurnRate, churned)
		}
		for _, id := range f.IDs {
			if seen[id] {
				t.Fatalf("customer %s is in two splits", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != res.Manifest.InputRows {
		t.Errorf("splits hold %d customers, input has %d", len(seen), res.Manifest.InputRows)
	}
}

// maxRateGap returns the largest difference between split churn rates.
func maxRateGap(m Manifest) float64 {
	var rates []float64
	for _, s := range m.Splits {
		rates = append(rates, s.ChurnRate)
	}
	return slices.Max(rates) - slices.Min(rates)
}

func TestRunRealTelco(t *testing.T) {
	path := os.Getenv("ECOMOPTI_TELCO_CSV")
	if path == "" {
		t.Skip("ECOMOPTI_TELCO_CSV is not set; point it at the IBM Telco churn CSV to run this test")
	}
	data := readFile(t, path)
	res, err := Run(context.Background(), Input{Path: path, Data: data}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	checkSplits(t, res, [3]int{4930, 1056, 1057})
	if !slices.Equal(res.Encoder.Features, telcoFeatures) {
		t.Errorf("features %q, want %q", res.Encoder.Features, telcoFeatures)
	}
	if res.Manifest.FeatureCount != 44 {
		t.Errorf("feature count %d, want 44", res.Manifest.FeatureCount)
	}
	if res.Manifest.BlankTotalCharges != 11 {
		t.Errorf("%d blank TotalCharges, want 11", res.Manifest.BlankTotalCharges)
	}
	if gap := maxRateGap(res.Manifest); gap > 0.01 {
		t.Errorf("churn rates %+v differ by %.4f, want at most 0.01", res.Manifest.Splits, gap)
	}
	sum := sha256.Sum256(data)
	if res.Manifest.InputSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("manifest sha256 %s, want %x", res.Manifest.InputSHA256, sum)
	}
	if len(res.Manifest.Warnings) != 0 {
		t.Errorf("warnings %q, want none", res.Manifest.Warnings)
	}

	again, err := Run(context.Background(), Input{Path: path, Data: data}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range dataset.Splits {
		if d := equalFrames(res.Split(s), again.Split(s)); d != "" {
			t.Errorf("second run with the same seed: %s: %s", s, d)
		}
	}
}

func TestRunSample(t *testing.T) {
	data := readFile(t, samplePath)
	res, err := Run(context.Background(), Input{Path: "embedded:telco_sample.csv", Data: data}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	// 2,000 rows: held-out ceil(600) = 600, test ceil(300) = 300.
	checkSplits(t, res, [3]int{1400, 300, 300})
	if !slices.Equal(res.Encoder.Features, telcoFeatures) {
		t.Errorf("features %q, want %q", res.Encoder.Features, telcoFeatures)
	}
	churned := 0
	for _, s := range res.Manifest.Splits {
		churned += s.Churned
	}
	if rate := float64(churned) / 2000; rate < 0.22 || rate > 0.30 {
		t.Errorf("churn rate %.3f, want 0.22 to 0.30", rate)
	}
	if gap := maxRateGap(res.Manifest); gap > 0.01 {
		t.Errorf("churn rates %+v differ by %.4f, want at most 0.01", res.Manifest.Splits, gap)
	}
	if res.Manifest.InputPath != "embedded:telco_sample.csv" || res.Manifest.Seed != 42 || res.Manifest.HoldoutFraction != 0.3 {
		t.Errorf("manifest input %q seed %d holdout %v", res.Manifest.InputPath, res.Manifest.Seed, res.Manifest.HoldoutFraction)
	}
	if res.Manifest.BlankTotalCharges == 0 {
		t.Error("sample has no blank TotalCharges; the generator should leave them blank for tenure 0")
	}
	if res.Manifest.CreatedAt.IsZero() || res.Manifest.CreatedAt.Location().String() != "UTC" {
		t.Errorf("created_at %v, want a UTC time", res.Manifest.CreatedAt)
	}

	// Rows keep their values: look up one customer in the raw file.
	table, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	r := table.Records[10]
	for _, s := range dataset.Splits {
		f := res.Split(s)
		i := slices.Index(f.IDs, r.CustomerID)
		if i < 0 {
			continue
		}
		if f.Tenure[i] != r.Tenure || f.X.At(i, 2) != r.Tenure || f.X.At(i, 0) != r.Numeric["MonthlyCharges"] {
			t.Errorf("customer %s: tenure %v charges %v, want %v and %v", r.CustomerID, f.Tenure[i], f.X.At(i, 0), r.Tenure, r.Numeric["MonthlyCharges"])
		}
		j := f.Index(dataset.OneHot("Contract", r.Categorical["Contract"]))
		if j < 0 || f.X.At(i, j) != 1 {
			t.Errorf("customer %s: contract %q not encoded", r.CustomerID, r.Categorical["Contract"])
		}
	}
}

// TestRunBadInputs runs the bad fixtures in testdata/prepare and checks
// that each error is an InputError whose message names the problem.
func TestRunBadInputs(t *testing.T) {
	cases := []struct {
		name string
		want []string // substrings of the error message
	}{
		{"missing_column", []string{"line 1: missing required columns: Churn, tenure, Contract", "fix the file"}},
		{"bad_churn", []string{`line 5: Churn: invalid value "Maybe", want Yes or No`, "fix or remove these rows and run again"}},
		{"negative_tenure", []string{`line 4: tenure: invalid value "-3", want a number of months, 0 or more`}},
		{"nonnumeric_tenure", []string{`line 6: tenure: invalid value "twelve"`}},
		{"duplicate_ids", []string{`line 7: customerID: duplicate value "0011-IMKUL", first seen on line 3`}},
		{"empty", []string{"file is empty"}},
		{"header_only", []string{"file has a header but no data rows"}},
		{"too_few_rows", []string{"too few rows to stratify", "5 churned and 35 retained", "at least 3 of each"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runFixture(t, tc.name)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %v does not match ErrInvalidInput", err)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T is not an *InputError", err)
			}
			if len(ie.Problems) != 1 {
				t.Errorf("%d problems, want 1: %v", len(ie.Problems), err)
			}
			if !strings.Contains(err.Error(), tc.name+".csv") {
				t.Errorf("error %q does not name the input file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRunManyProblems(t *testing.T) {
	_, err := runFixture(t, "many_problems")
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is not an *InputError", err)
	}
	if len(ie.Problems) != 20 || ie.More != 5 {
		t.Errorf("%d problems listed and %d more, want 20 and 5", len(ie.Problems), ie.More)
	}
	msg := err.Error()
	for _, w := range []string{"25 problems", "line 2: Churn:", "line 21: Churn:", "and 5 more"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "line 22:") {
		t.Errorf("error lists more than 20 problems:\n%s", msg)
	}
}

// TestRunAcceptedVariants checks that a BOM with CRLF line ends, and
// reordered columns with extra ones, give the same result as the same rows
// in plain form.
func TestRunAcceptedVariants(t *testing.T) {
	header, rows := sampleTable(t, 60) // the rows of both fixtures
	plain, err := Run(context.Background(), Input{Data: toCSV(t, header, rows)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bom_crlf", "reordered_extra"} {
		res, err := runFixture(t, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, s := range dataset.Splits {
			if d := equalFrames(res.Split(s), plain.Split(s)); d != "" {
				t.Errorf("%s: %s split: %s", name, s, d)
			}
		}
	}
	res, err := runFixture(t, "reordered_extra")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Region", "Notes"}; !slices.Equal(res.Manifest.ExtraColumns, want) {
		t.Errorf("extra columns %q, want %q", res.Manifest.ExtraColumns, want)
	}
}

func TestRunBlankTenure(t *testing.T) {
	res, err := runFixture(t, "blank_tenure")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifest.Warnings) != 1 || !strings.Contains(res.Manifest.Warnings[0], "tenure is blank on 2 rows") {
		t.Fatalf("warnings %q, want one about 2 blank tenures", res.Manifest.Warnings)
	}
	// Lines 11 and 21 of the fixture have blank tenure.
	table, err := Read(readFile(t, fixturesDir+"/blank_tenure.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range table.Records {
		if r.Line != 11 && r.Line != 21 {
			continue
		}
		if r.Tenure != 0 {
			t.Errorf("line %d: tenure %v, want 0", r.Line, r.Tenure)
		}
		for _, s := range dataset.Splits {
			f := res.Split(s)
			if i := slices.Index(f.IDs, r.CustomerID); i >= 0 && (f.Tenure[i] != 0 || f.X.At(i, f.Index("tenure")) != 0) {
				t.Errorf("customer %s: tenure %v, feature %v, want 0", r.CustomerID, f.Tenure[i], f.X.At(i, f.Index("tenure")))
			}
		}
	}
}

func TestRunCampaignColumns(t *testing.T) {
	header, rows := sampleTable(t, 60)
	header = append(slices.Clone(header), "treatment", "retained")
	rows = cloneRows(rows)
	for i := range rows {
		rows[i] = append(rows[i], []string{"0", "1"}[i%2], []string{"1", "0"}[i%3%2])
	}
	res, err := Run(context.Background(), Input{Data: toCSV(t, header, rows)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Manifest.Campaign {
		t.Error("manifest does not record campaign data")
	}
	for _, s := range dataset.Splits {
		f := res.Split(s)
		if !f.HasTreatment() {
			t.Fatalf("%s split has no treatment data", s)
		}
		for i, id := range f.IDs {
			k := slices.IndexFunc(rows, func(r []string) bool { return r[0] == id })
			wantT, wantR := float64(k%2), []float64{1, 0}[k%3%2]
			if f.Treatment[i] != wantT || f.Retained[i] != wantR {
				t.Fatalf("%s: customer %s treatment %v retained %v, want %v and %v", s, id, f.Treatment[i], f.Retained[i], wantT, wantR)
			}
		}
	}
}

func TestRunConfigInvalid(t *testing.T) {
	data := readFile(t, samplePath)
	for _, frac := range []float64{0, 1, -0.1, math.NaN()} {
		cfg := Config{Seed: 1, HoldoutFraction: frac}
		_, err := Run(context.Background(), Input{Data: data}, cfg, discard)
		if err == nil || errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "holdout fraction") {
			t.Errorf("holdout %v: error %v, want a config error", frac, err)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Input{Data: readFile(t, samplePath)}, DefaultConfig(), discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestRunSeedChangesSplit(t *testing.T) {
	data := readFile(t, samplePath)
	a, err := Run(context.Background(), Input{Data: data}, Config{Seed: 1, HoldoutFraction: 0.3}, discard)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), Input{Data: data}, Config{Seed: 2, HoldoutFraction: 0.3}, discard)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Test.IDs, b.Test.IDs) {
		t.Error("seeds 1 and 2 gave the same test split")
	}
	if a.Test.Len() != b.Test.Len() {
		t.Errorf("test sizes %d and %d differ between seeds", a.Test.Len(), b.Test.Len())
	}
}

func TestSplitSizes(t *testing.T) {
	cases := []struct {
		n                int
		holdout          float64
		train, val, test int
	}{
		{7043, 0.3, 4930, 1056, 1057}, // real Telco file
		{2000, 0.3, 1400, 300, 300},
		{10, 0.3, 7, 1, 2},
		{11, 0.3, 7, 2, 2},      // held-out ceil(3.3) = 4
		{100, 0.55, 45, 27, 28}, // 0.55 x 100 is 55.00000000000001 in float64
		{100, 0.05, 95, 2, 3},   // test takes the odd row
		{1, 0.3, 0, 0, 1},
	}
	for _, tc := range cases {
		train, val, test := splitSizes(tc.n, tc.holdout)
		if train != tc.train || val != tc.val || test != tc.test {
			t.Errorf("splitSizes(%d, %v) = %d/%d/%d, want %d/%d/%d", tc.n, tc.holdout, train, val, test, tc.train, tc.val, tc.test)
		}
	}
}

func TestApportion(t *testing.T) {
	cases := []struct {
		total int
		sizes []int
		want  []int
	}{
		{2113, []int{5174, 1869}, []int{1552, 561}}, // Telco: 2113 x 0.2654 = 560.8
		{10, []int{5, 5}, []int{5, 5}},
		{5, []int{1, 1}, []int{3, 2}}, // tie goes to the lower index
		{3, []int{1, 1, 1}, []int{1, 1, 1}},
		{0, []int{4, 6}, []int{0, 0}},
		{7, []int{0, 9}, []int{0, 7}},
	}
	for _, tc := range cases {
		got := apportion(tc.total, tc.sizes)
		if !slices.Equal(got, tc.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.sizes, got, tc.want)
		}
	}
}

func TestStratifiedSplit(t *testing.T) {
	churned := make([]bool, 1000)
	for i := range churned {
		churned[i] = i%4 == 0 // 250 churners
	}
	train, val, test := stratifiedSplit(churned, 0.3, 42)
	if len(train) != 700 || len(val) != 150 || len(test) != 150 {
		t.Fatalf("sizes %d/%d/%d, want 700/150/150", len(train), len(val), len(test))
	}

	count := func(idx []int) int {
		n := 0
		for _, i := range idx {
			if churned[i] {
				n++
			}
		}
		return n
	}
	// 250 churners: 75 held out (exactly 30%), then 38 test and 37 val.
	if c := count(train); c != 175 {
		t.Errorf("train has %d churners, want 175", c)
	}
	if c := count(val) + count(test); c != 75 {
		t.Errorf("held-out part has %d churners, want 75", c)
	}
	if c := count(test); c != 38 && c != 37 {
		t.Errorf("test has %d churners, want 37 or 38", c)
	}

	all := slices.Concat(train, val, test)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("row %d missing or repeated", i)
		}
	}
	for _, idx := range [][]int{train, val, test} {
		if !slices.IsSorted(idx) {
			t.Error("split indices are not in input order")
		}
	}

	train2, val2, test2 := stratifiedSplit(churned, 0.3, 42)
	if !slices.Equal(train, train2) || !slices.Equal(val, val2) || !slices.Equal(test, test2) {
		t.Error("same seed gave a different split")
	}
	if _, _, test3 := stratifiedSplit(churned, 0.3, 43); slices.Equal(test, test3) {
		t.Error("seeds 42 and 43 gave the same test split")
	}
}
