package main

import "syscall"

// childProcAttr sets nothing on Windows: no process groups or parent-death
// signal there, so the supervisor's children outlive a killed supervisor.
func childProcAttr(pgid int) *syscall.SysProcAttr { return nil }
