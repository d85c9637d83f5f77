package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startServeWith runs "serve" with extra flags and environment on a free
// port and returns its base URL and a stop function.
func startServeWith(t *testing.T, dataDir string, flags []string, vars map[string]string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	args := append([]string{"serve", "--data-dir", dataDir, "--port", "0"}, flags...)
	go func() {
		done <- Main(ctx, args, env(vars), pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no listening line: %v; stderr %s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}
	t.Cleanup(stop)
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), stop
}

func get(t *testing.T, method, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestServeSecurityFromEnvironment checks that serve reads the API key and
// the CORS allow-list from the environment.
func TestServeSecurityFromEnvironment(t *testing.T) {
	base, _ := startServeWith(t, t.TempDir(), nil, map[string]string{
		"ECOMOPTI_API_KEY":      "s3cret",
		"ECOMOPTI_CORS_ORIGINS": "https://dash.example.com",
	})
	if r := get(t, "GET", base+"/pipeline/jobs", nil); r.StatusCode != 401 {
		t.Errorf("no key: status %d, want 401", r.StatusCode)
	}
	if r := get(t, "GET", base+"/pipeline/jobs", map[string]string{"Authorization": "Bearer s3cret"}); r.StatusCode != 200 {
		t.Errorf("right key: status %d, want 200", r.StatusCode)
	}
	if r := get(t, "GET", base+"/health", nil); r.StatusCode != 200 {
		t.Errorf("health without key: status %d, want 200", r.StatusCode)
	}
	r := get(t, "OPTIONS", base+"/phase4/optimize", map[string]string{
		"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST"})
	if r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://dash.example.com" {
		t.Errorf("preflight: status %d, Allow-Origin %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestServeRejectsBadSecuritySettings(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"serve", "--data-dir", t.TempDir()},
		env(map[string]string{"ECOMOPTI_CORS_ORIGINS": "dash.example.com"}), &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "invalid CORS origin") {
		t.Errorf("exit code %d, stderr %q; want 2 and the invalid origin", code, stderr.String())
	}
	code = Main(context.Background(), []string{"serve", "--read-header-timeout", "0s"}, env(nil), &stdout, &stderr)
	if code != exitUsage {
		t.Errorf("zero read-header timeout: exit code %d, want 2", code)
	}
}

// TestServeReadHeaderTimeout opens a connection that never finishes its
// headers; the server must close it once --read-header-timeout passes.
func TestServeReadHeaderTimeout(t *testing.T) {
	base, _ := startServeWith(t, t.TempDir(), []string{"--read-header-timeout", "200ms"}, nil)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: "+u.Host+"\r\n"); err != nil {
		t.Fatal(err)
	}
	// Bound the wait so a server without the timeout fails the test
	// instead of hanging it.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("connection still open after 10s with unfinished headers")
	}
	if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 408") {
		t.Errorf("server answered %q, want a closed connection or 408", got)
	}
}
