package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// dumpLine is one line of "db dump". Value holds the stored JSON,
// compacted. A stored value that is not valid JSON goes to ValueText (valid
// UTF-8) or ValueBase64 instead, so every line stays valid JSON.
type dumpLine struct {
	Bucket      string          `json:"bucket"`
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value,omitempty"`
	ValueText   *string         `json:"value_text,omitempty"`
	ValueBase64 []byte          `json:"value_base64,omitempty"`
}

// runDBDump prints every key of every bucket as JSON lines.
func runDBDump(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs, df := newDBFlagSet("dump", `Usage: ecomopti db dump [flags]

Print every key of every bucket as one JSON object a line:
{"bucket": ..., "key": ..., "value": ...}. Buckets come in name order and
keys in byte order, all from one read transaction.`, getenv, stderr)
	only := fs.String("bucket", "", "print only this bucket, such as jobs or artifacts")
	rest, err := parseDBFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("db dump takes no arguments, got %q", rest)
	}

	st, err := df.open()
	if err != nil {
		return err
	}
	defer closeStore(st, &err)
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	var compact bytes.Buffer
	err = st.Dump(func(bucket string, key, value []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if *only != "" && bucket != *only && !strings.HasPrefix(bucket, *only+"/") {
			return nil
		}
		line := dumpLine{Bucket: bucket, Key: string(key)}
		compact.Reset()
		switch {
		case json.Valid(value) && json.Compact(&compact, value) == nil:
			line.Value = bytes.Clone(compact.Bytes())
		case utf8.Valid(value):
			text := string(value)
			line.ValueText = &text
		default:
			line.ValueBase64 = bytes.Clone(value)
		}
		return enc.Encode(line)
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}
