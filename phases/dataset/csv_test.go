package dataset

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomFrame builds a frame with awkward floats (tiny, huge, negative,
// many digits) so that the round trip exercises the number format.
func randomFrame(rng *rand.Rand, n int, campaign bool) *Frame {
	names := []string{ColMonthlyCharges, ColTenure, OneHot("Contract", "Two year"), OneHot("PaymentMethod", "Bank transfer (automatic)")}
	f := &Frame{Names: names, X: mat.NewDense(n, len(names), nil)}
	for i := 0; i < n; i++ {
		f.IDs = append(f.IDs, "id,\"quoted\" "+string(rune('A'+i%26)))
		f.Event = append(f.Event, float64(rng.IntN(2)))
		f.Tenure = append(f.Tenure, float64(rng.IntN(73)))
		f.X.Set(i, 0, 18.25+rng.Float64()*100)
		f.X.Set(i, 1, rng.NormFloat64()*1e-300)
		f.X.Set(i, 2, rng.NormFloat64()*1e300)
		f.X.Set(i, 3, -1/3.0*float64(i))
		if campaign {
			f.Treatment = append(f.Treatment, float64(rng.IntN(2)))
			f.Retained = append(f.Retained, float64(rng.IntN(2)))
		}
	}
	return f
}

func TestFrameCSVRoundTrip(t *testing.T) {
	for _, campaign := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(11, 12))
		want := randomFrame(rng, 25, campaign)
		var buf bytes.Buffer
		if err := WriteFrameCSV(&buf, want); err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(buf.String(), "\n")
		wantHeader := "E,T,customerID,MonthlyCharges,tenure,Contract_Two year,PaymentMethod_Bank transfer (automatic)"
		if campaign {
			wantHeader += ",treatment,retained"
		}
		if header != wantHeader {
			t.Errorf("campaign=%v: header %q, want %q", campaign, header, wantHeader)
		}

		got, err := ReadFrameCSV(&buf)
		if err != nil {
			t.Fatalf("campaign=%v: %v", campaign, err)
		}
		if !slices.Equal(got.IDs, want.IDs) {
			t.Errorf("campaign=%v: ids differ", campaign)
		}
		if !slices.Equal(got.Names, want.Names) {
			t.Errorf("campaign=%v: names %q, want %q", campaign, got.Names, want.Names)
		}
		if !slices.Equal(got.Event, want.Event) || !slices.Equal(got.Tenure, want.Tenure) {
			t.Errorf("campaign=%v: event or tenure differ", campaign)
		}
		// mat.Equal compares bit for bit, which is the promise of the format.
		if !mat.Equal(got.X, want.X) {
			t.Errorf("campaign=%v: features differ after round trip", campaign)
		}
		if !slices.Equal(got.Treatment, want.Treatment) || !slices.Equal(got.Retained, want.Retained) {
			t.Errorf("campaign=%v: treatment or retained differ", campaign)
		}
		if got.HasTreatment() != campaign {
			t.Errorf("campaign=%v: HasTreatment() = %v", campaign, got.HasTreatment())
		}
	}
}

func TestReadFrameCSVErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"Empty", "", "empty file"},
		{"BadHeader", "T,E,customerID,x\n", "header must start with"},
		{"NoFeatures", "E,T,customerID,treatment,retained\n1,2,a,0,1\n", "no feature columns"},
		{"NoRows", "E,T,customerID,x\n", "no data rows"},
		{"BadNumber", "E,T,customerID,x\n1,2,a,3\n0,1,b,zz\n", `line 3: column x: invalid number "zz"`},
		{"NaN", "E,T,customerID,x\n1,NaN,a,3\n", `line 2: column T: invalid number "NaN"`},
		{"Inf", "E,T,customerID,x\n1,2,a,+Inf\n", `column x: invalid number "+Inf"`},
		{"FieldCount", "E,T,customerID,x\n1,2,a\n", "line 2: 3 fields, header has 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrameCSV(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestWriteFrameCSVInvalid(t *testing.T) {
	f := &Frame{IDs: []string{"a"}, Event: []float64{1}, Tenure: []float64{1}, Names: []string{"x"}}
	if err := WriteFrameCSV(&bytes.Buffer{}, f); err == nil {
		t.Fatal("frame without a feature matrix was written")
	}
}

// TestReadFrameCSVValues checks a hand-written file value by value.
func TestReadFrameCSVValues(t *testing.T) {
	in := "E,T,customerID,MonthlyCharges,Contract_One year\n1,0,0001-ABCDE,29.85,0\n0,72,0002-FGHIJ,118.75,1\n"
	f, err := ReadFrameCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2 {
		t.Fatalf("%d rows, want 2", f.Len())
	}
	if f.HasTreatment() {
		t.Error("frame without campaign columns reports treatment data")
	}
	c, err := f.Col(ColMonthlyCharges)
	if err != nil {
		t.Fatal(err)
	}
	if c[1] != 118.75 || f.Tenure[1] != 72 || f.Event[0] != 1 || f.IDs[1] != "0002-FGHIJ" {
		t.Errorf("values read back wrong: charges %v, tenure %v, event %v, ids %v", c, f.Tenure, f.Event, f.IDs)
	}
}
