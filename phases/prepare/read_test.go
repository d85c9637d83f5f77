package prepare

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestReadRowErrors edits one field of a valid table and checks the
// problem that Read reports for it.
func TestReadRowErrors(t *testing.T) {
	header, rows := sampleTable(t, 6)
	cases := []struct {
		name   string
		column string
		row    int // index into rows; the CSV line is row + 2
		value  string
		want   string
	}{
		{"BlankID", "customerID", 0, " ", "line 2: customerID: missing value; every row needs a customer ID"},
		{"BlankChurn", "Churn", 1, "", `line 3: Churn: invalid value "", want Yes or No`},
		{"LowerCaseChurn", "Churn", 1, "yes", `line 3: Churn: invalid value "yes", want Yes or No`},
		{"ChargesText", "MonthlyCharges", 2, "$20", `line 4: MonthlyCharges: invalid value "$20", want dollars`},
		{"ChargesNaN", "MonthlyCharges", 2, "NaN", `line 4: MonthlyCharges: invalid value "NaN"`},
		{"ChargesNegative", "MonthlyCharges", 3, "-5", `line 5: MonthlyCharges: invalid value "-5"`},
		{"TenureInf", "tenure", 3, "Inf", `line 5: tenure: invalid value "Inf"`},
		{"SeniorTwo", "SeniorCitizen", 4, "2", `line 6: SeniorCitizen: invalid value "2", want 0, 1 or blank`},
		{"TotalChargesText", "TotalCharges", 5, "n/a", `line 7: TotalCharges: invalid value "n/a", want dollars, 0 or more, or blank`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			edited := cloneRows(rows)
			edited[tc.row][colIndex(t, header, tc.column)] = tc.value
			_, err := Read(toCSV(t, header, edited))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v, want an *InputError", err)
			}
			if len(ie.Problems) != 1 {
				t.Errorf("%d problems, want 1: %v", len(ie.Problems), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if p := ie.Problems[0]; p.Column != tc.column || p.Value != strings.TrimSpace(tc.value) || p.Line != tc.row+2 {
				t.Errorf("problem %+v, want line %d column %s value %q", p, tc.row+2, tc.column, tc.value)
			}
		})
	}
}

func TestReadHeaderErrors(t *testing.T) {
	header, rows := sampleTable(t, 6)
	replace := func(old, new string) []string {
		h := slices.Clone(header)
		h[slices.Index(h, old)] = new
		return h
	}
	cases := []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{"CaseDiffers", replace("tenure", "Tenure"), rows, `missing required columns: tenure (found "Tenure"; names are case-sensitive)`},
		{"DuplicateColumn", replace("gender", "Partner"), rows, "line 1: Partner: column appears twice; keep one"},
		{"TreatmentOnly", append(slices.Clone(header), "treatment"), appendField(rows, "1"), "treatment: column needs a retained column too"},
		{"RetainedOnly", append(slices.Clone(header), "retained"), appendField(rows, "1"), "retained: column needs a treatment column too"},
		{"BadTreatment", append(slices.Clone(header), "treatment", "retained"), appendField(appendField(rows, "yes"), "0"),
			`line 2: treatment: invalid value "yes", want 0 or 1`},
		{"ShortRow", header, append(cloneRows(rows), []string{"x", "y"}), "line 8: row has 2 fields, header has 21"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(toCSV(t, tc.header, tc.rows))
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v, want ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// appendField returns a copy of rows with v added to each row.
func appendField(rows [][]string, v string) [][]string {
	out := cloneRows(rows)
	for i := range out {
		out[i] = append(out[i], v)
	}
	return out
}

func TestReadFileErrors(t *testing.T) {
	header, rows := sampleTable(t, 3)
	valid := string(toCSV(t, header, rows))
	cases := []struct {
		name, data, want string
	}{
		{"OnlyBOM", "\xEF\xBB\xBF", "file is empty"},
		{"OnlySpace", " \n\r\n", "file is empty"},
		{"InvalidUTF8", valid + "\xff\xfe,x\n", "line 5: invalid UTF-8 text"},
		{"BareQuote", valid + "a,b\"c\n", "line 5: malformed CSV"},
		{"BadHeaderQuote", "\"customerID\n", "line 1: invalid header line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read([]byte(tc.data))
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v, want ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestReadValues checks the parsed values of a small hand-made table,
// including blanks, spaces around values and the optional TotalCharges.
func TestReadValues(t *testing.T) {
	header, rows := sampleTable(t, 2)
	rows = cloneRows(rows)
	at := func(name string) int { return colIndex(t, header, name) }
	rows[0][at("MonthlyCharges")] = ""
	rows[0][at("SeniorCitizen")] = " 1 "
	rows[0][at("Contract")] = "  Two year "
	rows[0][at("gender")] = ""
	rows[1][at("tenure")] = "12.5"
	rows[1][at("TotalCharges")] = " "

	table, err := Read(toCSV(t, header, rows))
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := table.Records[0], table.Records[1]
	if _, ok := r0.Numeric["MonthlyCharges"]; ok {
		t.Error("blank MonthlyCharges has a value")
	}
	if r0.Numeric["SeniorCitizen"] != 1 {
		t.Errorf("SeniorCitizen %v, want 1", r0.Numeric["SeniorCitizen"])
	}
	if r0.Categorical["Contract"] != "Two year" {
		t.Errorf("Contract %q, want spaces trimmed", r0.Categorical["Contract"])
	}
	if _, ok := r0.Categorical["gender"]; ok {
		t.Error("blank gender has a value")
	}
	if r1.Tenure != 12.5 || r1.Numeric["tenure"] != 12.5 {
		t.Errorf("tenure %v / %v, want 12.5", r1.Tenure, r1.Numeric["tenure"])
	}
	if r0.Line != 2 || r1.Line != 3 {
		t.Errorf("lines %d and %d, want 2 and 3", r0.Line, r1.Line)
	}
	if table.BlankTotalCharges != 1 || table.BlankTenure != 0 {
		t.Errorf("blank TotalCharges %d tenure %d, want 1 and 0", table.BlankTotalCharges, table.BlankTenure)
	}

	// TotalCharges is optional.
	k := at("TotalCharges")
	noTotal := slices.Delete(slices.Clone(header), k, k+1)
	var cut [][]string
	for _, r := range rows {
		cut = append(cut, slices.Delete(slices.Clone(r), k, k+1))
	}
	table, err = Read(toCSV(t, noTotal, cut))
	if err != nil {
		t.Fatalf("without TotalCharges: %v", err)
	}
	if len(table.Records) != 2 || table.BlankTotalCharges != 0 {
		t.Errorf("without TotalCharges: %d records, %d blank", len(table.Records), table.BlankTotalCharges)
	}
}

// TestReadQuotedNewline checks that a quoted field spanning lines shifts
// the line numbers of later rows, which are physical lines.
func TestReadQuotedNewline(t *testing.T) {
	header, rows := sampleTable(t, 3)
	rows = cloneRows(rows)
	rows[0][colIndex(t, header, "PaymentMethod")] = "Mailed\ncheck"
	rows[2][colIndex(t, header, "Churn")] = "Perhaps"
	_, err := Read(toCSV(t, header, rows))
	if err == nil || !strings.Contains(err.Error(), "line 5: Churn") {
		t.Fatalf("error %v, want one on line 5", err)
	}
}

func TestInputErrorFormat(t *testing.T) {
	e := &InputError{Problems: []Problem{{Line: 17, Column: "Churn", Value: "Maybe", Message: `invalid value "Maybe", want Yes or No`}}}
	want := "invalid input file: 1 problem\n  line 17: Churn: invalid value \"Maybe\", want Yes or No\nfix or remove these rows and run again"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, ErrInvalidInput) {
		t.Error("InputError does not match ErrInvalidInput")
	}
	if errors.Is(errors.New("other"), ErrInvalidInput) {
		t.Error("another error matches ErrInvalidInput")
	}
}
