package prepare

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

const (
	samplePath  = "../../testdata/telco_sample.csv"
	fixturesDir = "../../testdata/prepare"
)

var discard = slog.New(slog.DiscardHandler)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runFixture runs Phase 1 with the default config on testdata/prepare/<name>.csv.
func runFixture(t *testing.T, name string) (*Result, error) {
	t.Helper()
	path := filepath.Join(fixturesDir, name+".csv")
	return Run(context.Background(), Input{Path: path, Data: readFile(t, path)}, DefaultConfig(), discard)
}

// sampleTable returns the header and the first n rows of the sample, with
// churned and retained rows alternating so that small tables stratify.
func sampleTable(t *testing.T, n int) (header []string, rows [][]string) {
	t.Helper()
	all, err := csv.NewReader(bytes.NewReader(readFile(t, samplePath))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var yes, no [][]string
	for _, r := range all[1:] {
		if r[len(r)-1] == "Yes" {
			yes = append(yes, r)
		} else {
			no = append(no, r)
		}
	}
	for i := 0; len(rows) < n; i++ {
		rows = append(rows, no[i])
		if len(rows) < n {
			rows = append(rows, yes[i])
		}
	}
	return all[0], rows
}

// toCSV formats a header and rows as CSV with LF line ends.
func toCSV(t *testing.T, header []string, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// colIndex returns the index of name in header.
func colIndex(t *testing.T, header []string, name string) int {
	t.Helper()
	k := slices.Index(header, name)
	if k < 0 {
		t.Fatalf("no column %q", name)
	}
	return k
}

// cloneRows deep-copies rows so that a test can edit them.
func cloneRows(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r)
	}
	return out
}

// equalFrames reports the first difference between two frames, or "".
func equalFrames(a, b *dataset.Frame) string {
	switch {
	case !slices.Equal(a.IDs, b.IDs):
		return "ids differ"
	case !slices.Equal(a.Event, b.Event):
		return "events differ"
	case !slices.Equal(a.Tenure, b.Tenure):
		return "tenures differ"
	case !slices.Equal(a.Names, b.Names):
		return "feature names differ"
	case !mat.Equal(a.X, b.X):
		return "feature values differ"
	case !slices.Equal(a.Treatment, b.Treatment) || !slices.Equal(a.Retained, b.Retained):
		return "campaign columns differ"
	}
	return ""
}
