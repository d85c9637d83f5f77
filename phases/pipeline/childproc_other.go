//go:build !linux

package pipeline

import (
	"errors"
	"os/exec"
)

// startChild starts cmd. Without Linux's death signal a child can outlive
// a killed server until it finishes its run.
func startChild(cmd *exec.Cmd, nice int) (niceErr, err error) { return nil, cmd.Start() }

// setNice reports that lowering a child's priority is only done on Linux.
func setNice(pid, nice int) error {
	if nice <= 0 {
		return nil
	}
	return errors.New("lowering the priority is only supported on Linux")
}
