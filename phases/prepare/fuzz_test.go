package prepare

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read. It must not panic, every error
// must be an InputError listing at most 20 problems, and a success must
// give unique, non-empty customer IDs.
func FuzzRead(f *testing.F) {
	sample, err := os.ReadFile(samplePath)
	if err != nil {
		f.Fatal(err)
	}
	// The header and the first 8 rows of the sample.
	lines := bytes.SplitAfterN(sample, []byte("\n"), 10)
	valid := bytes.Join(lines[:9], nil)
	f.Add(valid)
	f.Add(append([]byte("\xEF\xBB\xBF"), valid...))
	f.Add([]byte("customerID,Churn\r\n\"a\"\"b\",Yes\r\n"))
	f.Add([]byte("a,b\"c\n\"unterminated"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := Read(data)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %T %v is not an InputError", err, err)
			}
			if len(ie.Problems) == 0 || len(ie.Problems) > maxProblems || ie.More < 0 {
				t.Fatalf("%d problems and %d more", len(ie.Problems), ie.More)
			}
			return
		}
		if len(table.Records) == 0 {
			t.Fatal("no records and no error")
		}
		seen := make(map[string]bool)
		for _, r := range table.Records {
			if r.CustomerID == "" || seen[r.CustomerID] {
				t.Fatalf("line %d: empty or repeated id %q", r.Line, r.CustomerID)
			}
			seen[r.CustomerID] = true
		}
	})
}
