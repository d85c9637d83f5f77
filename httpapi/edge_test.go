package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/phases/prepare"
)

func TestNullAndRepeatedFieldsRejected(t *testing.T) {
	b := setup(t, noInput)
	cases := []struct{ name, body, loc, msg string }{
		{"NullBudget", `{"split":"test","budget":null}`, "budget", "null"},
		{"NullModel", `{"split":"test","model":null}`, "model", "null"},
		{"RepeatedSplit", `{"split":"test","split":"val"}`, "split", "more than once"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fe fieldErrors
			resp := b.call(t, "POST", "/pipeline/run", tc.body, &fe)
			if resp.StatusCode != 422 {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			if len(fe.Detail) == 0 || len(fe.Detail[0].Loc) < 2 || fe.Detail[0].Loc[1] != tc.loc {
				t.Fatalf("detail %+v, want loc [body %s]", fe.Detail, tc.loc)
			}
			if !strings.Contains(fe.Detail[0].Msg, tc.msg) {
				t.Errorf("msg %q lacks %q", fe.Detail[0].Msg, tc.msg)
			}
		})
	}
}

func TestFileWithNULByteIs404(t *testing.T) {
	b := setup(t, noInput)
	for _, p := range []string{"/files/logs/%00", "/files/runs/%00", "/files/runs/a.csv%00.json"} {
		var d detail
		resp := b.call(t, "GET", p, "", &d)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestHeadHealthAndBadCursor(t *testing.T) {
	b := setup(t, noInput)
	resp, err := http.Head(b.srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /health status %d, want 200", resp.StatusCode)
	}
	var fe fieldErrors
	if r := b.call(t, "GET", "/pipeline/jobs?before=garbage", "", &fe); r.StatusCode != 422 {
		t.Errorf("before=garbage: status %d, want 422", r.StatusCode)
	}
	var d detail
	if r := b.call(t, "GET", "/HEALTH", "", &d); r.StatusCode != 404 {
		t.Errorf("GET /HEALTH: status %d, want a JSON 404", r.StatusCode)
	}
}

// TestDamagedScoresGive409 cuts a Phase 3 file of the latest run short:
// optimize must say the run is damaged instead of failing with 500.
func TestDamagedScoresGive409(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "telco_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func() (prepare.Input, error) { return prepare.Input{Path: "sample", Data: sample}, nil })
	st := runPipeline(t, b, `{"split":"val","budget":500}`, 3*time.Minute)
	runDir := filepath.Join(b.dataDir, st["run_dir"].(string))
	scores := filepath.Join(pipeline.PhaseDir(runDir, pipeline.PhaseUplift), "uplift_test.csv")
	if err := os.WriteFile(scores, []byte("garbage,\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var d detail
	resp := b.call(t, "POST", "/phase4/optimize", `{"split":"test","budget":500}`, &d)
	if resp.StatusCode != 409 || !strings.Contains(string(d.Detail), "run the pipeline again") {
		t.Errorf("optimize on damaged scores: %d %s", resp.StatusCode, d.Detail)
	}
}
