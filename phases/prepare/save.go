package prepare

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/ecomopti/ecomopti/phases/artifact"
	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Artifact file names written by Save.
const (
	EncoderFile  = "encoder.json"
	ManifestFile = "manifest.json"
)

// SplitFile returns the file name of a split's frame, for example
// "train.csv".
func SplitFile(split string) string { return split + ".csv" }

// Save writes train.csv, val.csv, test.csv, encoder.json and manifest.json
// into dir, which must exist. Each file is written to a temporary file in
// dir and renamed, so a crash leaves either the old or the new version of
// it. An old manifest is removed first and the new one is written last, so
// a manifest in dir means that the files next to it belong to it.
func (r *Result) Save(dir string) error {
	err := os.Remove(filepath.Join(dir, ManifestFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("save prepare result: %w", err)
	}
	for _, s := range dataset.Splits {
		f := r.Split(s)
		if f == nil {
			return fmt.Errorf("save prepare result: no %s split", s)
		}
		err := artifact.WriteAtomic(dir, SplitFile(s), func(w io.Writer) error {
			return dataset.WriteFrameCSV(w, f)
		})
		if err != nil {
			return err
		}
	}
	if r.Encoder == nil {
		return errors.New("save prepare result: no encoder")
	}
	if err := writeJSONAtomic(dir, EncoderFile, r.Encoder); err != nil {
		return err
	}
	// The renames above must reach the disk before the manifest does.
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := writeJSONAtomic(dir, ManifestFile, r.Manifest); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes the directory entries of dir, which makes renames in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Load reads the files written by Save from dir. It checks that the encoder
// is consistent, that every split has the encoder's features, and that the
// row counts and features match the manifest.
func Load(dir string) (*Result, error) {
	res := &Result{Encoder: &Encoder{}}
	if err := readJSON(filepath.Join(dir, ManifestFile), &res.Manifest); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, EncoderFile), res.Encoder); err != nil {
		return nil, err
	}
	if err := res.Encoder.check(); err != nil {
		return nil, fmt.Errorf("load %s: %w", filepath.Join(dir, EncoderFile), err)
	}
	if !slices.Equal(res.Manifest.FeatureNames, res.Encoder.Features) {
		return nil, fmt.Errorf("load %s: manifest and encoder list different features", dir)
	}

	frames := make(map[string]*dataset.Frame, len(dataset.Splits))
	for k, s := range dataset.Splits {
		path := filepath.Join(dir, SplitFile(s))
		f, err := readFrame(path)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(f.Names, res.Encoder.Features) {
			return nil, fmt.Errorf("load %s: features differ from the encoder", path)
		}
		if k >= len(res.Manifest.Splits) || res.Manifest.Splits[k].Name != s || res.Manifest.Splits[k].Rows != f.Len() {
			return nil, fmt.Errorf("load %s: %d rows do not match the manifest", path, f.Len())
		}
		frames[s] = f
	}
	res.Train, res.Val, res.Test = frames[dataset.Train], frames[dataset.Val], frames[dataset.Test]
	return res, nil
}

func readFrame(path string) (*dataset.Frame, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load prepare result: %w", err)
	}
	defer file.Close()
	f, err := dataset.ReadFrameCSV(bufio.NewReader(file))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return f, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load prepare result: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	return nil
}

func writeJSONAtomic(dir, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	data = append(data, '\n')
	return artifact.WriteAtomic(dir, name, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	})
}
