//go:build !linux && !windows

package main

import "syscall"

// childProcAttr puts the `settled dev` validators in one process group (pgid 0:
// a new one). Outside Linux there is no parent-death signal: if the supervisor
// is killed with SIGKILL, stop them with `kill -- -PGID`.
func childProcAttr(pgid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
}
