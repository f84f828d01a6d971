//go:build !linux && !windows

package bench

import "syscall"

// childProcAttr puts a validator in its own process group (no parent-death
// signal outside Linux: Close must run).
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup signals the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }
