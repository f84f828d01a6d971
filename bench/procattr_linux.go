package bench

import "syscall"

// childProcAttr puts a validator in its own process group and asks the kernel to
// kill it if the harness dies without tearing down (SIGKILL, a crash): no orphans.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup signals the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig) // ESRCH: already gone
}
