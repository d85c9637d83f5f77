package httpapi

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// servedTops are the data-directory folders GET /files may read; the
// database file itself is never served.
var servedTops = map[string]bool{"runs": true, "logs": true}

var contentTypes = map[string]string{
	".csv":  "text/csv; charset=utf-8",
	".json": "application/json",
	".md":   "text/markdown; charset=utf-8",
	".png":  "image/png",
	".log":  "text/plain; charset=utf-8",
}

// handleFile serves a file below runs/ or logs/ of the data directory.
// os.Root confines the lookup, so "..", absolute paths and symbolic links
// that lead outside the data directory all fail.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	rel := strings.TrimPrefix(ps.ByName("path"), "/")
	clean := path.Clean(rel)
	top, _, _ := strings.Cut(clean, "/")
	if rel == "" || clean != rel || !servedTops[top] || !fs.ValidPath(clean) || strings.ContainsRune(clean, 0) {
		s.writeError(w, r, errorf(http.StatusNotFound, "no file %q: paths are relative to the data directory and start with runs/ or logs/", rel))
		return
	}
	root, err := os.OpenRoot(s.cfg.DataDir)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(clean))
	if err != nil {
		// Missing files, paths that escape the root and names the file
		// system rejects all mean the same to the client: no such file.
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Info("file request rejected", "path", rel, "err", err)
		}
		s.writeError(w, r, errorf(http.StatusNotFound, "no file %q below the data directory", rel))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if fi.IsDir() {
		s.writeError(w, r, errorf(http.StatusNotFound, "%q is a directory, not a file", rel))
		return
	}
	if ct, ok := contentTypes[filepath.Ext(clean)]; ok {
		w.Header().Set("Content-Type", ct)
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}
