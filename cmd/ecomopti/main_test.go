package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestMainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{"NoCommand", nil, nil, exitUsage, "Usage"},
		{"UnknownCommand", []string{"frobnicate"}, nil, exitUsage, `unknown command "frobnicate"`},
		{"BadPort", []string{"serve", "--data-dir", dir}, map[string]string{"API_PORT": "eighty"}, exitUsage, `invalid port "eighty"`},
		{"BadLogLevel", []string{"serve", "--data-dir", dir}, map[string]string{"LOG_LEVEL": "loud"}, exitUsage, `invalid LOG_LEVEL "loud"`},
		{"BadRescueMode", []string{"serve", "--on-interrupt", "retry"}, nil, exitUsage, `invalid --on-interrupt "retry"`},
		{"BadJobProcess", []string{"serve", "--job-process", "thread"}, nil, exitUsage, `invalid --job-process "thread"`},
		{"BadChildNice", []string{"serve", "--child-nice", "20"}, nil, exitUsage, "invalid --child-nice 20"},
		{"ExecPhasesMissingFlags", []string{"exec-phases"}, nil, exitUsage, "--run-dir, --input and --params are required"},
		{"ExecPhasesBadParams", []string{"exec-phases", "--run-dir", dir, "--input", "embedded", "--params", `{"splits":"test"}`}, nil, exitUsage, "invalid --params"},
		{"UnknownFlag", []string{"serve", "--colour"}, nil, exitUsage, "colour"},
		{"MissingInput", []string{"serve", "--data-dir", dir, "--input", dir + "/none.csv"}, nil, exitFailure, "none.csv"},
		{"Help", []string{"help"}, nil, exitOK, ""},
		{"Version", []string{"version"}, nil, exitOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tc.args, env(tc.env), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String()+stdout.String(), tc.msg) {
				t.Errorf("output %q lacks %q", stderr.String(), tc.msg)
			}
		})
	}
}

// startServe runs "serve" in the background on a free port and returns
// its base URL and a function that stops it and returns the exit code.
func startServe(t *testing.T, dataDir string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		code <- Main(ctx, []string{"serve", "--data-dir", dataDir, "--port", "0"}, env(nil), pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no listening line: %v; stderr %s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	return url, func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
}

func TestServeStartsAndStops(t *testing.T) {
	dir := t.TempDir()
	url, stop := startServe(t, dir)
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h["database_ready"] != true {
		t.Errorf("health = %v", h)
	}

	// A second server on the same data directory fails fast and says why.
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := Main(context.Background(), []string{"serve", "--data-dir", dir, "--port", "0"}, env(nil), &stdout, &stderr)
	if code != exitFailure {
		t.Errorf("second serve exit code %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "locked by another process") {
		t.Errorf("second serve message %q does not say the file is locked", stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second serve took %v to fail", d)
	}

	if c := stop(); c != exitOK {
		t.Errorf("serve exit code %d after shutdown, want 0", c)
	}
}
