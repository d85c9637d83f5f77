package optimize

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Files lists the paths that WriteFiles wrote.
type Files struct {
	CRMExport       string `json:"crm_export"`
	Report          string `json:"report"`
	Summary         string `json:"summary"`
	SegmentDeepDive string `json:"segment_deep_dive"`
}

// Paths returns the paths in a fixed order: CRM export, report, summary,
// segment deep-dive.
func (f Files) Paths() []string {
	return []string{f.CRMExport, f.Report, f.Summary, f.SegmentDeepDive}
}

// CRM export recommendations.
const (
	RecommendTreat   = "treat"
	RecommendNoTreat = "do not treat"
)

// crmHeader lists the CRM export columns. Money columns are dollars.
var crmHeader = []string{
	"customerID", "clv", "uplift", "incremental_value", "treatment_cost",
	"segment", "treatment_recommendation", "priority_score",
}

// File-name suffixes of the outputs of one optimisation. The full name is
// the stem followed by the suffix.
const (
	SuffixCRMExport       = "_crm_export.csv"
	SuffixReport          = "_report.json"
	SuffixSummary         = "_summary.md"
	SuffixSegmentDeepDive = "_segments.json"
)

// WriteFiles writes the CRM export (stem_crm_export.csv), the report JSON
// (stem_report.json), the Markdown summary (stem_summary.md) and the
// segment deep-dive JSON (stem_segments.json) into dir, which must exist.
// The files are staged under temporary names and renamed into place only
// after all of them are written, so a failure leaves none of them behind.
// The stem must be a plain file-name prefix without path separators.
func (r *Report) WriteFiles(dir, stem string) (Files, error) {
	return r.WriteFilesContext(context.Background(), dir, stem)
}

// WriteFilesContext is WriteFiles that gives up with ctx's error, leaving
// no file behind, when ctx is done before the renames start.
func (r *Report) WriteFilesContext(ctx context.Context, dir, stem string) (Files, error) {
	return r.WriteFilesWith(ctx, dir, stem, WriteOptions{})
}

// WriteOptions set how WriteFilesWith writes the files.
type WriteOptions struct {
	// NoSync skips the fsync of each file and of the folder (see
	// FileSet.SetSync). Use it for files that can be written again from
	// their inputs, such as the outputs of an optimize call.
	NoSync bool
}

// WriteFilesWith is WriteFilesContext with options.
func (r *Report) WriteFilesWith(ctx context.Context, dir, stem string, opts WriteOptions) (Files, error) {
	set := NewFileSet(dir)
	set.SetSync(!opts.NoSync)
	files, err := r.StageFiles(set, stem)
	if err != nil {
		set.Abort()
		return Files{}, err
	}
	if err := ctx.Err(); err != nil {
		set.Abort()
		return Files{}, err
	}
	if err := set.Commit(); err != nil {
		return Files{}, fmt.Errorf("write optimize files: %w", err)
	}
	return files, nil
}

// StageFiles adds the four files of WriteFiles to set and returns their
// final paths. Nothing is visible under those paths until set.Commit.
func (r *Report) StageFiles(set *FileSet, stem string) (Files, error) {
	if err := ValidStem(stem); err != nil {
		return Files{}, fmt.Errorf("write optimize files: %w", err)
	}
	if r.customers == nil {
		return Files{}, errors.New("write optimize files: report has no customers, because it was decoded from JSON rather than built by Optimize")
	}
	var f Files
	var err error
	if f.CRMExport, err = set.Add(stem+SuffixCRMExport, r.writeCRM); err != nil {
		return Files{}, fmt.Errorf("write crm export: %w", err)
	}
	if f.Report, err = set.Add(stem+SuffixReport, r.writeJSON); err != nil {
		return Files{}, fmt.Errorf("write report json: %w", err)
	}
	summary := func(w io.Writer) error { return r.writeSummary(w, filepath.Base(f.CRMExport)) }
	if f.Summary, err = set.Add(stem+SuffixSummary, summary); err != nil {
		return Files{}, fmt.Errorf("write summary: %w", err)
	}
	deepDive := func(w io.Writer) error { return writeIndentedJSON(w, r.SegmentDeepDive()) }
	if f.SegmentDeepDive, err = set.Add(stem+SuffixSegmentDeepDive, deepDive); err != nil {
		return Files{}, fmt.Errorf("write segment deep-dive: %w", err)
	}
	return f, nil
}

// ValidStem returns an error when stem cannot be used as a file-name
// prefix: it is empty, "." or "..", or contains a path separator.
func ValidStem(stem string) error {
	if stem == "" || stem == "." || stem == ".." || strings.ContainsAny(stem, `/\`) {
		return fmt.Errorf("invalid file stem %q, expected a name without path separators", stem)
	}
	return nil
}

// FileSet stages output files in one folder under temporary names and
// renames them all into place on Commit. Readers never see a partly
// written file, and a set that is aborted, or never committed because a
// deadline passed, leaves no file behind. A FileSet is not safe for
// concurrent use.
type FileSet struct {
	dir    string
	staged []stagedFile
	noSync bool
}

type stagedFile struct {
	tmp, final string
}

// NewFileSet returns an empty set of files for dir, which must exist.
// Each file is synced to disk before its rename, and the folder after
// the renames; SetSync(false) turns that off.
func NewFileSet(dir string) *FileSet { return &FileSet{dir: dir} }

// SetSync turns the fsync of each staged file and of the folder on or off
// for the files added after the call and for Commit. Without it, readers
// still see each file appear whole, because the rename is atomic, and a
// crash of the process loses nothing that the kernel already holds. A
// power failure or kernel crash shortly after Commit can leave a file
// empty or missing, so turn it off only for files that can be written
// again from their inputs.
func (s *FileSet) SetSync(on bool) { s.noSync = !on }

// Add writes one file of the set under a temporary name and returns the
// path it gets on Commit. The name must be a plain file name. On error,
// nothing of this file remains, and the files staged before stay staged.
func (s *FileSet) Add(name string, write func(io.Writer) error) (string, error) {
	if err := ValidStem(name); err != nil {
		return "", err
	}
	final := filepath.Join(s.dir, name)
	tmp, err := writeTemp(final, write, !s.noSync)
	if err != nil {
		return "", err
	}
	s.staged = append(s.staged, stagedFile{tmp: tmp, final: final})
	return final, nil
}

// Len returns the number of staged files.
func (s *FileSet) Len() int { return len(s.staged) }

// Names returns the final file names of the staged files, without the
// folder, in the order they were added.
func (s *FileSet) Names() []string {
	names := make([]string, len(s.staged))
	for k, f := range s.staged {
		names[k] = filepath.Base(f.final)
	}
	return names
}

// Commit renames every staged file into place, in the order they were
// added, and syncs the folder so the names survive a crash (unless
// SetSync(false) was called). When a rename fails, the files renamed
// before it stay in place and the rest are removed.
func (s *FileSet) Commit() error {
	staged := s.staged
	s.staged = nil
	for k, f := range staged {
		if err := os.Rename(f.tmp, f.final); err != nil {
			for _, rest := range staged[k:] {
				os.Remove(rest.tmp)
			}
			return fmt.Errorf("rename %s: %w", filepath.Base(f.final), err)
		}
	}
	if s.noSync {
		return nil
	}
	return syncDir(s.dir)
}

// Abort removes every staged file. It is safe to call after Commit, when
// it does nothing.
func (s *FileSet) Abort() {
	for _, f := range s.staged {
		os.Remove(f.tmp)
	}
	s.staged = nil
}

// writeTemp writes a temporary file next to path, synced to disk when
// sync is set, and returns its name. Temporary names start with a dot and
// end in ".tmp".
func writeTemp(path string, write func(io.Writer) error, sync bool) (name string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	buf := bufio.NewWriter(tmp)
	if err := write(buf); err != nil {
		return "", err
	}
	if err := buf.Flush(); err != nil {
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return "", err
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return "", err
		}
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}

// syncDir flushes a folder's entries, so renames into it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

func (r *Report) writeJSON(w io.Writer) error { return writeIndentedJSON(w, r) }

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
