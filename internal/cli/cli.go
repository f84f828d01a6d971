// Package cli holds the conventions every Settle command follows: -h prints
// usage and exits 0, an unknown command prints usage and exits 2, and
// `version` prints the build.
package cli

import (
	"fmt"
	"runtime/debug"
)

// Exit statuses shared by the commands (a command may add its own above 2).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// IsHelp reports whether arg asks for usage.
func IsHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// Version is the line `CMD version` prints: the module version (or "devel"),
// the VCS revision and time when the build recorded them, and the Go version.
func Version(cmd string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return cmd + " (no build information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	line := fmt.Sprintf("%s %s", cmd, v)
	if rev != "" {
		line += fmt.Sprintf(" %.12s%s", rev, dirty)
		if at != "" {
			line += " " + at
		}
	}
	return line + " " + bi.GoVersion
}
