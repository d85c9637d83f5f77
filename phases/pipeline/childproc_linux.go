package pipeline

import (
	"fmt"
	"os/exec"
	"syscall"
)

// startChild starts cmd from the calling thread, which the caller has
// locked. It sets that thread's niceness first: Linux keeps niceness per
// thread and a new process inherits it from the thread that forked it,
// so every thread of the child runs at that niceness. Setting it on the
// child's pid after the start would miss threads the Go runtime of the
// child had already created. The death signal makes the kernel kill the
// child when this thread ends, including when the server is killed. The
// child gets its own process group, so a Ctrl-C in a terminal reaches only
// the server, which then stops the child as for any shutdown. A failed niceness change is returned as niceErr and the child starts
// anyway.
func startChild(cmd *exec.Cmd, nice int) (niceErr, err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if nice > 0 {
		// who 0 is the calling thread on Linux.
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice); err != nil {
			niceErr = fmt.Errorf("set niceness %d on the starting thread: %w", nice, err)
		}
	}
	return niceErr, cmd.Start()
}

// setNice sets the niceness of the child's main thread. After startChild
// this only repeats the inherited value, but it also covers a child whose
// start thread could not be reniced.
func setNice(pid, nice int) error {
	if nice <= 0 {
		return nil
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, pid, nice)
}
