package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/gonum/mat"
)

// Leading columns of the processed CSV form of a Frame: the event flag E,
// the tenure T in months and the customer ID.
const (
	colEvent  = "E"
	colTenure = "T"
	frameLead = 3
)

// WriteFrameCSV writes f as CSV with the columns E, T, customerID, the
// features in f.Names order, and then treatment and retained when the frame
// has campaign data. Numbers use the shortest form that parses back to the
// same float64, so ReadFrameCSV returns an identical frame.
func WriteFrameCSV(w io.Writer, f *Frame) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	campaign := f.HasTreatment()
	header := make([]string, 0, frameLead+len(f.Names)+2)
	header = append(header, colEvent, colTenure, ColCustomerID)
	header = append(header, f.Names...)
	if campaign {
		header = append(header, ColTreatment, ColRetained)
	}

	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	rec := make([]string, len(header))
	for i := range f.IDs {
		rec[0] = formatFloat(f.Event[i])
		rec[1] = formatFloat(f.Tenure[i])
		rec[2] = f.IDs[i]
		for j := range f.Names {
			rec[frameLead+j] = formatFloat(f.X.At(i, j))
		}
		if campaign {
			rec[len(rec)-2] = formatFloat(f.Treatment[i])
			rec[len(rec)-1] = formatFloat(f.Retained[i])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write frame: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// ReadFrameCSV reads a frame written by WriteFrameCSV. The header must start
// with E, T, customerID; when its last two columns are treatment and
// retained they fill Frame.Treatment and Frame.Retained, and every other
// column is a feature. An unparsable or non-finite number and a row with the
// wrong number of fields are errors that name the line. A file without data
// rows or without feature columns is an error too.
func ReadFrameCSV(r io.Reader) (*Frame, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("read frame: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("read frame header: %w", err)
	}
	if len(header) < frameLead || header[0] != colEvent || header[1] != colTenure || header[2] != ColCustomerID {
		return nil, fmt.Errorf("read frame: header must start with %s,%s,%s, got %q", colEvent, colTenure, ColCustomerID, header)
	}
	nf := len(header) - frameLead
	campaign := nf >= 2 && header[len(header)-2] == ColTreatment && header[len(header)-1] == ColRetained
	if campaign {
		nf -= 2
	}
	if nf == 0 {
		return nil, errors.New("read frame: header has no feature columns")
	}

	f := &Frame{Names: append([]string(nil), header[frameLead:frameLead+nf]...)}
	var data []float64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read frame: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("read frame line %d: %d fields, header has %d", line, len(rec), len(header))
		}
		nums := make([]float64, len(rec))
		for k, s := range rec {
			if k == 2 {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("read frame line %d: column %s: invalid number %q", line, header[k], s)
			}
			nums[k] = v
		}
		f.Event = append(f.Event, nums[0])
		f.Tenure = append(f.Tenure, nums[1])
		f.IDs = append(f.IDs, rec[2])
		data = append(data, nums[frameLead:frameLead+nf]...)
		if campaign {
			f.Treatment = append(f.Treatment, nums[len(nums)-2])
			f.Retained = append(f.Retained, nums[len(nums)-1])
		}
	}
	if len(f.IDs) == 0 {
		return nil, errors.New("read frame: no data rows")
	}
	f.X = mat.NewDense(len(f.IDs), nf, data)
	return f, nil
}
