package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTrailingSlashRedirectKeepsMethod checks that a POST to a path with a
// trailing slash is redirected with 307, which keeps the method and body,
// and never with 301, which clients turn into a GET.
func TestTrailingSlashRedirectKeepsMethod(t *testing.T) {
	b := setup(t, noInput)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(b.srv.URL+"/pipeline/run/", "application/json", strings.NewReader(`{"split":"test"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("status %d, want 307 or 308", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "/pipeline/run" {
		t.Errorf("Location %q, want /pipeline/run", loc)
	}
}
