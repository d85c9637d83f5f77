package prepare

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Record is one customer of the input file after parsing, before encoding.
type Record struct {
	Line       int // physical CSV line of the row, the header being line 1
	CustomerID string
	Churned    bool    // Churn was "Yes"
	Tenure     float64 // months, 0 when the input was blank
	// Numeric maps MonthlyCharges, SeniorCitizen and tenure to their values.
	// A blank MonthlyCharges or SeniorCitizen has no entry, and the encoder
	// imputes it. Tenure always has an entry.
	Numeric map[string]float64
	// Categorical maps each of the 15 categorical columns to its value with
	// surrounding spaces removed. A blank value has no entry.
	Categorical map[string]string
	// Campaign reports whether the file had treatment and retained columns.
	// Then Treatment and Retained are 0 or 1.
	Campaign  bool
	Treatment float64
	Retained  float64
}

// Table is a parsed input file.
type Table struct {
	Records []Record
	// ExtraColumns lists header columns that are not used, in file order.
	ExtraColumns []string
	// Campaign reports whether the file had treatment and retained columns.
	Campaign bool
	// BlankTenure counts rows whose blank tenure was set to 0 months.
	BlankTenure int
	// BlankTotalCharges counts rows with a blank TotalCharges. The column is
	// parsed only to check it and is never a feature, because it is about
	// tenure x MonthlyCharges and would leak the future into CLV.
	BlankTotalCharges int
}

// requiredColumns lists the input columns that must be present. TotalCharges
// is optional because it is checked and then dropped.
var requiredColumns = slices.Concat(
	[]string{dataset.ColCustomerID, dataset.ColChurn, dataset.ColTenure, dataset.ColMonthlyCharges, dataset.ColSeniorCitizen},
	dataset.CategoricalColumns,
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// layout maps the used columns of a header to their field index.
type layout struct {
	index    map[string]int
	width    int // number of header fields
	extra    []string
	campaign bool
	total    bool // TotalCharges is present
}

// Read parses a customer CSV file with the Telco schema.
//
// The file is UTF-8 with or without a byte-order mark, with LF or CRLF line
// ends and RFC 4180 quoting. Columns are found by header name in any order
// and extra columns are listed in Table.ExtraColumns. Surrounding spaces of
// every value are removed. Rules per column:
//
//   - customerID: required and unique.
//   - Churn: Yes or No.
//   - tenure: months, 0 or more. A blank becomes 0 and is counted in
//     Table.BlankTenure.
//   - MonthlyCharges: dollars, 0 or more, or blank (imputed later).
//   - SeniorCitizen: 0, 1 or blank (imputed later).
//   - TotalCharges (optional column): dollars, 0 or more, or blank.
//   - treatment and retained (optional, both or neither): 0 or 1.
//   - the categorical columns: any text, or blank (imputed later).
//
// Each defect becomes a Problem with its line number. A file with problems
// returns an *InputError that matches ErrInvalidInput and lists the first
// 20 of them. An empty file and a file with a header but no rows return an
// *InputError too.
func Read(data []byte) (*Table, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fileError("file is empty; give a CSV file with a header line and one row per customer")
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:invalidUTF8Offset(data)], []byte("\n"))
		return nil, &InputError{Problems: []Problem{{Line: line, Message: "invalid UTF-8 text; save the file as UTF-8 and run again"}}}
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, &InputError{Problems: []Problem{{Line: 1, Message: fmt.Sprintf("invalid header line: %v", csvCause(err))}}}
	}
	lay, err := readHeader(header)
	if err != nil {
		return nil, err
	}

	t := &Table{ExtraColumns: lay.extra, Campaign: lay.campaign}
	var probs problemList
	firstLine := make(map[string]int) // customer ID -> line where it first appeared
	for {
		rec, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read csv: %w", err)
			}
			probs.addf(pe.StartLine, "", "", "malformed CSV: %v", pe.Err)
			continue
		}
		line, _ := cr.FieldPos(0)
		r, ok := parseRow(rec, line, lay, t, &probs)
		if r.CustomerID != "" {
			if first, dup := firstLine[r.CustomerID]; dup {
				probs.addf(line, dataset.ColCustomerID, r.CustomerID, "duplicate value %q, first seen on line %d", r.CustomerID, first)
				ok = false
			} else {
				firstLine[r.CustomerID] = line
			}
		}
		if ok {
			t.Records = append(t.Records, r)
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	if len(t.Records) == 0 {
		return nil, fileError("file has a header but no data rows; add one row per customer")
	}
	return t, nil
}

// readHeader finds the used columns of header. Missing required columns,
// a required column given twice, or only one of treatment and retained is
// an *InputError.
func readHeader(header []string) (*layout, error) {
	lay := &layout{index: make(map[string]int), width: len(header)}
	used := slices.Concat(requiredColumns, []string{dataset.ColTotalCharges, dataset.ColTreatment, dataset.ColRetained})
	var probs problemList
	for k, name := range header {
		name = strings.TrimSpace(name)
		if !slices.Contains(used, name) {
			lay.extra = append(lay.extra, name)
			continue
		}
		if _, dup := lay.index[name]; dup {
			probs.addf(1, name, "", "column appears twice; keep one")
			continue
		}
		lay.index[name] = k
	}

	var missing []string
	for _, name := range requiredColumns {
		if _, ok := lay.index[name]; !ok {
			missing = append(missing, describeMissing(name, lay.extra))
		}
	}
	if len(missing) > 0 {
		probs.addf(1, "", "", "missing required columns: %s", strings.Join(missing, ", "))
	}

	_, hasTreatment := lay.index[dataset.ColTreatment]
	_, hasRetained := lay.index[dataset.ColRetained]
	switch {
	case hasTreatment && !hasRetained:
		probs.addf(1, dataset.ColTreatment, "", "column needs a retained column too; give both or neither")
	case hasRetained && !hasTreatment:
		probs.addf(1, dataset.ColRetained, "", "column needs a treatment column too; give both or neither")
	}
	lay.campaign = hasTreatment && hasRetained
	_, lay.total = lay.index[dataset.ColTotalCharges]
	if err := probs.err(); err != nil {
		return nil, err
	}
	return lay, nil
}

// describeMissing returns name, plus a hint when an extra column differs
// from it only in letter case.
func describeMissing(name string, extra []string) string {
	for _, e := range extra {
		if strings.EqualFold(e, name) {
			return fmt.Sprintf("%s (found %q; names are case-sensitive)", name, e)
		}
	}
	return name
}

// parseRow checks one data row and returns its record. Problems go to
// probs, and ok is false when the row had any.
func parseRow(rec []string, line int, lay *layout, t *Table, probs *problemList) (r Record, ok bool) {
	if len(rec) != lay.width {
		probs.addf(line, "", "", "row has %d fields, header has %d", len(rec), lay.width)
		return Record{Line: line}, false
	}
	before := len(probs.problems) + probs.more
	field := func(name string) string { return strings.TrimSpace(rec[lay.index[name]]) }

	r = Record{
		Line:        line,
		CustomerID:  field(dataset.ColCustomerID),
		Numeric:     make(map[string]float64, len(dataset.NumericColumns)),
		Categorical: make(map[string]string, len(dataset.CategoricalColumns)),
		Campaign:    lay.campaign,
	}
	if r.CustomerID == "" {
		probs.addf(line, dataset.ColCustomerID, "", "missing value; every row needs a customer ID")
	}

	switch v := field(dataset.ColChurn); v {
	case "Yes":
		r.Churned = true
	case "No":
	default:
		probs.addf(line, dataset.ColChurn, v, "invalid value %q, want Yes or No", v)
	}

	if v := field(dataset.ColTenure); v == "" {
		t.BlankTenure++
	} else if x, err := parseNumber(v); err != nil || x < 0 {
		probs.addf(line, dataset.ColTenure, v, "invalid value %q, want a number of months, 0 or more", v)
	} else {
		r.Tenure = x
	}
	r.Numeric[dataset.ColTenure] = r.Tenure

	if v := field(dataset.ColMonthlyCharges); v != "" {
		if x, err := parseNumber(v); err != nil || x < 0 {
			probs.addf(line, dataset.ColMonthlyCharges, v, "invalid value %q, want dollars, 0 or more, or blank", v)
		} else {
			r.Numeric[dataset.ColMonthlyCharges] = x
		}
	}
	if v := field(dataset.ColSeniorCitizen); v != "" {
		if x, err := parseFlag(v); err != nil {
			probs.addf(line, dataset.ColSeniorCitizen, v, "invalid value %q, want 0, 1 or blank", v)
		} else {
			r.Numeric[dataset.ColSeniorCitizen] = x
		}
	}
	if lay.total {
		if v := field(dataset.ColTotalCharges); v == "" {
			t.BlankTotalCharges++
		} else if x, err := parseNumber(v); err != nil || x < 0 {
			probs.addf(line, dataset.ColTotalCharges, v, "invalid value %q, want dollars, 0 or more, or blank", v)
		}
	}

	for _, name := range dataset.CategoricalColumns {
		if v := field(name); v != "" {
			r.Categorical[name] = v
		}
	}

	if lay.campaign {
		r.Treatment = parseFlagField(field(dataset.ColTreatment), dataset.ColTreatment, line, probs)
		r.Retained = parseFlagField(field(dataset.ColRetained), dataset.ColRetained, line, probs)
	}
	return r, len(probs.problems)+probs.more == before
}

// parseFlagField parses a required 0/1 value and reports a problem otherwise.
func parseFlagField(v, column string, line int, probs *problemList) float64 {
	x, err := parseFlag(v)
	if err != nil {
		probs.addf(line, column, v, "invalid value %q, want 0 or 1", v)
	}
	return x
}

// parseNumber parses a finite decimal number.
func parseNumber(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errors.New("not a finite number")
	}
	return x, nil
}

// parseFlag parses a number that must be 0 or 1.
func parseFlag(s string) (float64, error) {
	x, err := parseNumber(s)
	if err != nil {
		return 0, err
	}
	if x != 0 && x != 1 {
		return 0, errors.New("want 0 or 1")
	}
	return x, nil
}

// csvCause returns the reason of a csv.ParseError without its position,
// which the caller reports itself.
func csvCause(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// invalidUTF8Offset returns the byte offset of the first invalid UTF-8
// sequence in data, or len(data).
func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}
