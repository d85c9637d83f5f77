package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// WriteBackup writes a consistent copy of the whole database to w from one
// read transaction, so writers may go on committing meanwhile. It returns
// the number of bytes written: the pages in use as of that transaction,
// which can be fewer than the file holds because bbolt grows its file
// ahead of need. Keep w fast: bbolt cannot grow its memory map while a read
// transaction is open, so a slow w delays writers that need more space.
func (s *Store) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("write backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a consistent copy of the database to path. The copy
// goes to a temporary file in the same folder, is synced to disk and then
// renamed over path, so path never holds a partial copy. An existing file
// at path is replaced.
func (s *Store) BackupFile(path string) (int64, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if src, err := filepath.Abs(s.path); err == nil && src == abs {
		return 0, fmt.Errorf("backup: output %s is the database itself", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	n, err := s.WriteBackup(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), abs)
	}
	if err != nil {
		return 0, errors.Join(fmt.Errorf("backup to %s: %w", path, err), removeIfExists(tmp.Name()))
	}
	return n, syncDir(filepath.Dir(abs))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// syncDir flushes a folder's entries, so a rename inside it survives a
// power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
