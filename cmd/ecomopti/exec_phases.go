package main

import (
	"context"
	"io"

	"github.com/ecomopti/ecomopti"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

// execPhasesCommand is the hidden command that "serve" starts for each
// pipeline job (see pipeline.ExecPhasesMain). It is not in the help text
// because only the server calls it.
const execPhasesCommand = "exec-phases"

func runExecPhases(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return pipeline.ExecPhasesMain(ctx, args, ecomopti.SampleCSV, stdout, stderr)
}
