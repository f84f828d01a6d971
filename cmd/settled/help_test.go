package main

import (
	"os/exec"
	"strings"
	"testing"

	"settle/internal/testkit"
)

// TestSubcommandHelpExitsZero: `settled SUB -h` prints the subcommand's usage
// and exits 0 (it used to report "flag: help requested" and exit 1).
func TestSubcommandHelpExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	bin := buildSettled(t)
	for _, tc := range []struct{ sub, flag string }{
		{"dev", "-validators"}, {"testnet", "-validators"}, {"init", "-dir"}, {"run", "-config"}, {"verify", "-config"},
	} {
		out, err := exec.Command(bin, tc.sub, "-h").CombinedOutput()
		if err != nil {
			t.Errorf("settled %s -h: %v; output:\n%s", tc.sub, err, out)
		}
		if !strings.Contains(string(out), "Usage of "+tc.sub) || !strings.Contains(string(out), tc.flag) {
			t.Errorf("settled %s -h printed no usage naming %s:\n%s", tc.sub, tc.flag, out)
		}
	}
}

// TestCommandConventions: -h and help exit 0 with usage, an unknown command
// prints usage and exits 2, version prints the build.
func TestCommandConventions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	testkit.CheckCLI(t, buildSettled(t), []testkit.CLICase{
		{Args: []string{"-h"}, Exit: 0, Contains: "settled verify -config FILE"},
		{Args: []string{"help"}, Exit: 0, Contains: "settled version"},
		{Args: nil, Exit: 2, Contains: "usage:"},
		{Args: []string{"fly"}, Exit: 2, Contains: `unknown command "fly"`},
		{Args: []string{"version"}, Exit: 0, Contains: "settled "},
	})
}
