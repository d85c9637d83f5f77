package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestRejectsNonLoopbackHosts(t *testing.T) {
	for _, u := range []string{
		"http://10.0.0.1:8000", "http://192.168.1.5", "http://example.com:8000",
		"http://[2001:db8::1]:80", "http://0.0.0.0:8000", "ftp://127.0.0.1", "127.0.0.1:8000",
	} {
		var stderr bytes.Buffer
		code := Main(context.Background(), []string{"--url", u, "--requests", "1"}, noEnv, &bytes.Buffer{}, &stderr)
		if code != exitUsage {
			t.Errorf("--url %s: exit code %d, want %d", u, code, exitUsage)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8000", "http://127.5.6.7", "http://[::1]:8000", "http://localhost:8000"} {
		got, err := loopbackURL(u)
		if err != nil {
			t.Errorf("--url %s rejected: %v", u, err)
			continue
		}
		if strings.Contains(got.Host, "localhost") {
			t.Errorf("localhost kept as %q; it must be dialled as 127.0.0.1", got.Host)
		}
	}
}

func TestDialerRejectsOtherAddresses(t *testing.T) {
	if _, err := dialLoopback(context.Background(), "tcp", "192.0.2.1:80"); err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Errorf("dial 192.0.2.1: %v, want a rejection", err)
	}
}

func TestParseBounds(t *testing.T) {
	for _, args := range [][]string{
		{"--requests", "0"}, {"--requests", "2000000"}, {"--concurrency", "0"}, {"--concurrency", "5000"},
		{"--duration", "11m"}, {"--mix", "health=0"}, {"--mix", "login=5"}, {"--rate", "-1"},
		{"--budget-min", "0"}, {"--budget-min", "500", "--budget-max", "100"}, {"--run-budget", "NaN"}, {"--run-budget", "Inf"},
	} {
		if _, err := parse(args, noEnv, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0.5, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v ms, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
}

// TestLoadAgainstStub runs a small load against a stub of the API on
// loopback and checks the counts, the mix and the error accounting.
func TestLoadAgainstStub(t *testing.T) {
	var optimizeCalls, runCalls, badAuth atomic.Int64
	budgets := map[float64]bool{}
	budgetCh := make(chan float64, 1000)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			badAuth.Add(1)
		}
		switch {
		case r.URL.Path == "/pipeline/jobs":
			w.Write([]byte(`{"jobs":[{"id":"job-1"}]}`))
		case r.URL.Path == "/health", r.URL.Path == "/pipeline/status/job-1":
			w.Write([]byte(`{}`))
		case r.URL.Path == "/phase4/optimize":
			optimizeCalls.Add(1)
			var body struct{ Budget float64 }
			json.NewDecoder(r.Body).Decode(&body)
			budgetCh <- body.Budget
			w.Write([]byte(`{}`))
		case r.URL.Path == "/pipeline/run":
			runCalls.Add(1)
			// Every run request fails, so the report must count errors.
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer stub.Close()
	env := func(k string) string {
		if k == "ECOMOPTI_API_KEY" {
			return "k"
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"--url", stub.URL, "--requests", "400", "--concurrency", "8",
		"--budgets", "5", "--budget-min", "100", "--budget-max", "500", "--json"}, env, &stdout, &stderr)
	close(budgetCh)
	for b := range budgetCh {
		budgets[b] = true
	}
	if code != exitFailure {
		t.Errorf("exit code %d with failing run requests, want %d", code, exitFailure)
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Requests != 400 {
		t.Errorf("report counts %d requests, want 400", rep.Requests)
	}
	byKind := map[string]kindReport{}
	for _, k := range rep.Kinds {
		byKind[k.Kind] = k
	}
	if got := int64(byKind[kindOptimize].Requests); got != optimizeCalls.Load() {
		t.Errorf("report counts %d optimize requests, the server saw %d", got, optimizeCalls.Load())
	}
	if byKind[kindRun].Errors != byKind[kindRun].Requests || int64(byKind[kindRun].Requests) != runCalls.Load() {
		t.Errorf("run errors %d of %d, server saw %d", byKind[kindRun].Errors, byKind[kindRun].Requests, runCalls.Load())
	}
	if rep.Errors != byKind[kindRun].Errors {
		t.Errorf("total errors %d, want only the %d run errors", rep.Errors, byKind[kindRun].Errors)
	}
	// The default mix gives optimize 75% of requests.
	if share := float64(byKind[kindOptimize].Requests) / 400; share < 0.65 || share > 0.85 {
		t.Errorf("optimize share %.2f, want about 0.75", share)
	}
	for b := range budgets {
		if b != 100 && b != 200 && b != 300 && b != 400 && b != 500 {
			t.Errorf("budget %v is not one of the 5 evenly spaced values", b)
		}
	}
	if badAuth.Load() != 0 {
		t.Errorf("%d requests lacked the bearer token", badAuth.Load())
	}
}
