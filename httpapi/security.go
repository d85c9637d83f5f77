package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// publicRoutes are the route patterns served without the API key: the
// health probe and the API documentation.
var publicRoutes = map[string]bool{
	"/health":       true,
	"/openapi.json": true,
	"/docs":         true,
	"/docs/:asset":  true,
}

// authorized checks the bearer token against Config.APIKey and sends 401
// when it is missing or wrong. With no key configured every request passes.
// Both sides are hashed first, so the constant-time comparison also hides
// the key's length. The key and the received token are never logged.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.apiKeyHash == nil {
		return true
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	var detail string
	switch {
	case scheme == "" && token == "":
		detail = "missing API key: send the header Authorization: Bearer <key>"
	case !strings.EqualFold(scheme, "Bearer") || token == "":
		detail = "invalid Authorization header: use the Bearer scheme, Authorization: Bearer <key>"
	default:
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if subtle.ConstantTimeCompare(sum[:], s.apiKeyHash) == 1 {
			return true
		}
		detail = "invalid API key"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="ecomopti"`)
	s.writeError(w, r, errorf(http.StatusUnauthorized, "%s", detail))
	return false
}

// corsPolicy applies an allow-list of origins to cross-origin requests.
// Responses never carry Access-Control-Allow-Credentials, because clients
// send the API key in the Authorization header, not in cookies. So a "*"
// entry never combines a wildcard with credentials.
type corsPolicy struct {
	origins []string // normalised scheme://host[:port]; "*" allows any
	maxAge  time.Duration
}

// corsAllowedHeaders are the request headers a browser may send.
var corsAllowedHeaders = "Authorization, Content-Type, " + RequestIDHeader

// ParseCORSOrigins parses a comma-separated allow-list such as
// "https://dash.example.com, http://localhost:3000". Each entry is an
// origin (scheme, host and optional port, no path) or "*" for any origin.
// Blank entries are skipped.
func ParseCORSOrigins(list string) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(list, ",") {
		o := strings.TrimSpace(raw)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("invalid CORS origin %q: use scheme://host[:port], such as https://dash.example.com, or *", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// allowed reports whether origin is on the list.
func (c *corsPolicy) allowed(origin string) bool {
	return slices.Contains(c.origins, "*") || slices.Contains(c.origins, strings.ToLower(origin))
}

// handle sets the CORS headers of an allowed origin. It responds to a
// preflight (OPTIONS with Access-Control-Request-Method) itself, with 204
// for an allowed origin and 403 otherwise, and then returns true so the
// request goes no further. A plain request from an origin not on the list is
// served without CORS headers, so the browser withholds the response.
func (c *corsPolicy) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(c.origins) == 0 {
		return false
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.allowed(origin) {
		if preflight {
			info(r).detail = "origin not allowed"
			writeJSON(w, http.StatusForbidden, map[string]string{
				"detail": fmt.Sprintf("origin %q is not allowed; add it to ECOMOPTI_CORS_ORIGINS", origin)})
			return true
		}
		return false
	}
	if slices.Contains(c.origins, "*") {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Expose-Headers", RequestIDHeader+", Allow, WWW-Authenticate, X-Log-Source")
	if !preflight {
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
	h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.maxAge.Seconds())))
	w.WriteHeader(http.StatusNoContent)
	return true
}
