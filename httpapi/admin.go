package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/julienschmidt/httprouter"
)

// BackupRoute is the path of the online backup endpoint.
const BackupRoute = "/admin/backup"

// backupTempPattern names the temporary copies below the data directory.
const backupTempPattern = ".backup-*.db"

// BackupSource writes a consistent copy of the database from one read
// transaction. *store.Store implements it.
type BackupSource interface {
	WriteBackup(w io.Writer) (int64, error)
}

// removeStaleBackups deletes temporary copies that an earlier process
// left behind.
func (s *Server) removeStaleBackups() {
	stale, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, backupTempPattern))
	for _, path := range stale {
		if err := os.Remove(path); err != nil {
			s.log.Warn("remove stale backup copy", "path", path, "err", err)
		}
	}
}

// handleBackup sends a consistent copy of the database file while the
// server keeps running. Offline tools cannot copy the file then, because
// the server holds its lock. The route needs the API key when one is set.
//
// The copy is first written to a temporary file in the data directory and
// then sent from there, so bbolt's read transaction lasts as long as a
// local disk write rather than as long as a slow download. That needs
// free space equal to the database size. One backup runs at a time, and a
// request during another gets 429.
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if s.cfg.Backup == nil {
		s.writeError(w, r, errorf(http.StatusNotImplemented, "backups are not available on this server"))
		return
	}
	if !s.backupBusy.TryLock() {
		w.Header().Set("Retry-After", "5")
		s.writeError(w, r, errorf(http.StatusTooManyRequests, "a backup is already being written; retry when it finishes"))
		return
	}
	defer s.backupBusy.Unlock()
	s.sendBackup(w, r, s.cfg.Backup)
}

func (s *Server) sendBackup(w http.ResponseWriter, r *http.Request, src BackupSource) {
	start := time.Now()
	tmp, err := os.CreateTemp(s.cfg.DataDir, backupTempPattern)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("create backup copy: %w", err))
		return
	}
	defer func() {
		tmp.Close()
		if err := os.Remove(tmp.Name()); err != nil {
			s.log.Warn("remove backup copy", "path", tmp.Name(), "err", err)
		}
	}()
	n, err := src.WriteBackup(tmp)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		s.writeError(w, r, fmt.Errorf("rewind backup copy: %w", err))
		return
	}

	taken := start.UTC()
	name := "ecomopti-" + taken.Format("20060102T150405Z") + ".db"
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, name, taken, tmp)
	s.log.Info("backup sent", "bytes", n, "duration_ms", time.Since(start).Milliseconds())
}
