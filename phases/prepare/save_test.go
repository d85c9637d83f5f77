package prepare

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// checkSameResult compares every part of two results.
func checkSameResult(t *testing.T, got, want *Result) {
	t.Helper()
	for _, s := range dataset.Splits {
		if d := equalFrames(got.Split(s), want.Split(s)); d != "" {
			t.Errorf("%s split: %s", s, d)
		}
	}
	if !reflect.DeepEqual(got.Encoder, want.Encoder) {
		t.Errorf("encoder %+v, want %+v", got.Encoder, want.Encoder)
	}
	gm, wm := got.Manifest, want.Manifest
	if !gm.CreatedAt.Equal(wm.CreatedAt) {
		t.Errorf("created_at %v, want %v", gm.CreatedAt, wm.CreatedAt)
	}
	gm.CreatedAt = wm.CreatedAt
	if !reflect.DeepEqual(gm, wm) {
		t.Errorf("manifest %+v, want %+v", gm, wm)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	header, rows := sampleTable(t, 200)
	rows = cloneRows(rows)
	// Blank values give warnings; campaign columns must survive too.
	rows[3][colIndex(t, header, "MonthlyCharges")] = ""
	rows[4][colIndex(t, header, "tenure")] = ""
	header = append(slices.Clone(header), "treatment", "retained", "Notes")
	for i := range rows {
		rows[i] = append(rows[i], []string{"0", "1"}[i%2], []string{"0", "1"}[i%5/4], "x")
	}
	in := Input{Path: "round/trip.csv", Data: toCSV(t, header, rows)}
	want, err := Run(context.Background(), in, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Manifest.Warnings) != 2 {
		t.Errorf("warnings %q, want 2 (blank tenure, imputed MonthlyCharges)", want.Manifest.Warnings)
	}

	dir := t.TempDir()
	if err := want.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSameResult(t, got, want)

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	wantNames := []string{"encoder.json", "manifest.json", "test.csv", "train.csv", "val.csv"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("files %q, want %q (no temporary files left)", names, wantNames)
	}

	// Saving again over the old files must work and give the same result.
	if err := got.Save(dir); err != nil {
		t.Fatal(err)
	}
	again, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSameResult(t, again, want)
}

func TestSaveLoadSample(t *testing.T) {
	want, err := Run(context.Background(), Input{Path: "sample", Data: readFile(t, samplePath)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := want.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSameResult(t, got, want)
	manifest := string(readFile(t, filepath.Join(dir, ManifestFile)))
	for _, w := range []string{`"input_sha256": "`, `"seed": 42`, `"feature_count": 44`, `"name": "train"`, `"rows": 1400`, `"warnings": []`} {
		if !strings.Contains(manifest, w) {
			t.Errorf("manifest.json does not contain %s", w)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	res, err := Run(context.Background(), Input{Data: readFile(t, samplePath)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{"MissingManifest", func(t *testing.T, dir string) { remove(t, dir, ManifestFile) }, "manifest.json"},
		{"MissingSplit", func(t *testing.T, dir string) { remove(t, dir, "val.csv") }, "val.csv"},
		{"BadJSON", func(t *testing.T, dir string) { write(t, dir, EncoderFile, "{") }, "encoder.json"},
		{"EncoderFeatures", func(t *testing.T, dir string) {
			data := strings.Replace(string(readFile(t, filepath.Join(dir, EncoderFile))), `"gender_Female",`, "", 1)
			write(t, dir, EncoderFile, data)
		}, "encoder feature names"},
		{"SplitRows", func(t *testing.T, dir string) {
			data := string(readFile(t, filepath.Join(dir, "test.csv")))
			write(t, dir, "test.csv", data[:strings.LastIndex(strings.TrimSuffix(data, "\n"), "\n")+1])
		}, "do not match the manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := res.Save(dir); err != nil {
				t.Fatal(err)
			}
			tc.change(t, dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSaveMissingDir(t *testing.T) {
	res, err := Run(context.Background(), Input{Data: readFile(t, samplePath)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Save(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("save into a missing directory succeeded")
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSaveFailureDropsManifest makes the write of val.csv fail after an
// earlier save and checks that no manifest is left to vouch for the mixed
// files.
func TestSaveFailureDropsManifest(t *testing.T) {
	res, err := Run(context.Background(), Input{Data: readFile(t, samplePath)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := res.Save(dir); err != nil {
		t.Fatal(err)
	}
	// A non-empty directory named val.csv makes the rename fail.
	remove(t, dir, "val.csv")
	if err := os.MkdirAll(filepath.Join(dir, "val.csv", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := res.Save(dir); err == nil {
		t.Fatal("save over a directory named val.csv succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); !os.IsNotExist(err) {
		t.Errorf("manifest still present after a failed save (stat error %v)", err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("load succeeded after a failed save")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
