// Package ecomopti holds files that ship inside the ecomopti binary.
package ecomopti

import _ "embed"

// SampleCSV is a synthetic customer table with the Telco schema: 2,000 rows
// made by internal/samplegen with seed 7, churn rate about 27%. It lets a
// user try the pipeline without the real data, and it contains no real
// customer. Regenerate it with go test ./internal/samplegen -update.
//
//go:embed testdata/telco_sample.csv
var SampleCSV []byte
