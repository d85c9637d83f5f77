package httpapi

import (
	"io/fs"
	"net/http"

	"github.com/julienschmidt/httprouter"
	swaggerfiles "github.com/swaggo/files/v2"
)

// docsAssets are the Swagger UI files that /docs loads. They come embedded
// in github.com/swaggo/files/v2 (swagger-ui-dist 5.x), so the page works
// without network access.
var docsAssets = map[string]string{
	"swagger-ui.css":                  "text/css; charset=utf-8",
	"swagger-ui-bundle.js":            "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"favicon-32x32.png":               "image/png",
	"favicon-16x16.png":               "image/png",
}

// docsPage loads Swagger UI from /docs/ and points it at /openapi.json.
// The URLs are relative to /docs, so the page also works behind a path
// prefix added by a reverse proxy.
const docsPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>EcomOpti API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
</script>
</body>
</html>
`

func (s *Server) handleDocs(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(docsPage))
}

func (s *Server) handleDocsAsset(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	name := ps.ByName("asset")
	ct, ok := docsAssets[name]
	if !ok {
		s.writeError(w, r, errorf(http.StatusNotFound, "no documentation asset %q", name))
		return
	}
	raw, err := fs.ReadFile(swaggerfiles.FS, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(raw)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.metricsHandler.ServeHTTP(w, r)
}
