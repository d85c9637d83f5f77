package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// TestEncodeStatusMatchesEncoder checks that the status body built from
// pieces equals writeJSON of the whole statusResponse.
func TestEncodeStatusMatchesEncoder(t *testing.T) {
	started := time.Date(2026, 12, 4, 10, 0, 0, 123, time.UTC)
	job := &jobs.Job{
		ID: "01a2-job", Status: jobs.StatusCompleted, Phase: 4, PhaseName: "optimize <&>", Progress: 1,
		Params: jobs.Params{Split: "test", Model: "ensemble", Budget: 2500}, StartedAt: &started,
		Error: "quote \" and \u2028", RunDir: "runs/01a2-job", LogFile: "logs/x.log",
		Transitions: []jobs.Transition{{From: jobs.StatusQueued, To: jobs.StatusRunning, At: started, Reason: "claimed"}},
	}
	arts := []jobs.Artifact{
		{JobID: job.ID, Phase: 1, Path: "runs/01a2-job/a<b>.csv", Size: 3, SHA256: "ab", CreatedAt: started},
		{JobID: job.ID, Phase: 4, Path: "runs/01a2-job/c&d.json", Size: 5, SHA256: "cd"},
	}
	metrics := json.RawMessage(`{"a": [1, 2.5e3, "x<y"], "b": {"c": null}}`)
	cases := []struct {
		name    string
		arts    []jobs.Artifact
		metrics json.RawMessage
	}{
		{"ArtifactsAndMetrics", arts, metrics},
		{"NoMetrics", arts, nil},
		{"NoArtifacts", nil, metrics},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := "tail <b> & \"quoted\"\nline"
			want := httptest.NewRecorder()
			resp := statusResponse{Job: job, JobID: job.ID, Log: log, Artifacts: c.arts}
			if resp.Artifacts == nil {
				resp.Artifacts = []jobs.Artifact{}
			}
			if c.metrics != nil {
				resp.Metrics = c.metrics
			}
			writeJSON(want, 200, resp)

			artsJSON, err := marshalArtifacts(c.arts)
			if err != nil {
				t.Fatal(err)
			}
			var metricsJSON []byte
			if c.metrics != nil {
				if metricsJSON, err = json.Marshal(c.metrics); err != nil {
					t.Fatal(err)
				}
			}
			got, err := encodeStatus(job, log, artsJSON, metricsJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Body.Bytes()) {
				t.Errorf("body\n%s\nwant\n%s", got, want.Body.Bytes())
			}
		})
	}
}

func TestLastChars(t *testing.T) {
	long := strings.Repeat("ab", 600) + "é€😀"
	cases := []struct {
		name string
		in   string
		n    int
	}{
		{"Short", "héllo", 10},
		{"Exact", "héllo", 5},
		{"CutASCII", long[:1200], 1000},
		{"CutMultiByte", long, 1000},
		{"Empty", "", 3},
		{"InvalidUTF8", "ab\xffcd\xe2\x82", 3},
		{"InvalidUTF8Short", "a\xff", 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The reference is the conversion of the whole string to runes.
			want := c.in
			if r := []rune(c.in); len(r) > c.n {
				want = string(r[len(r)-c.n:])
			}
			if got := lastChars(c.in, c.n); got != want {
				t.Errorf("lastChars(%q, %d) = %q, want %q", c.in, c.n, got, want)
			}
		})
	}
}
