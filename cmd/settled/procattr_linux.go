package main

import "syscall"

// childProcAttr makes a `settled dev` validator die with its supervisor: the
// kernel sends it SIGKILL when the supervisor dies, however it dies (SIGKILL
// included, which no handler sees), so no orphan keeps its ports and database.
// The validator is crash-safe (docs/operations.md), so SIGKILL loses nothing.
// The children share one process group, led by the first (pgid 0: a new group),
// so a terminal's Ctrl-C reaches only the supervisor, which stops them in order,
// and `kill -- -PGID` reaches them all.
//
// The death signal fires when the OS thread that started the child exits; Go
// keeps its threads for the process's life unless a goroutine that locked one
// exits, which the supervisor never does.
func childProcAttr(pgid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pgid: pgid, Pdeathsig: syscall.SIGKILL}
}
