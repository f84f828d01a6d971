package main

import (
	"os"
	"testing"

	"settle/internal/testkit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkit.Cleanup()
	os.Exit(code)
}

// TestCommandConventions: -h exits 0 with usage (listing every command and
// the environment), on the command and every subcommand; an unknown command
// prints usage and exits 2; version prints the build.
func TestCommandConventions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	cases := []testkit.CLICase{
		{Args: []string{"-h"}, Exit: 0, Contains: "SETTLE_NODE"},
		{Args: []string{"help"}, Exit: 0, Contains: "settlectl report"},
		{Args: nil, Exit: 2, Contains: "usage:"},
		{Args: []string{"fly"}, Exit: 2, Contains: `unknown command "fly"`},
		{Args: []string{"version"}, Exit: 0, Contains: "settlectl "},
	}
	cases = append(cases, testkit.CLICase{Args: []string{"verify", "tx", "-h"}, Exit: 0, Contains: "Usage of verify tx"},
		testkit.CLICase{Args: []string{"verify", "-h"}, Exit: 0, Contains: "settlectl verify account"})
	for _, sub := range []string{"keygen", "pay", "account", "queue", "queue-cancel", "queue-priority", "tx", "status", "report", "verify"} {
		cases = append(cases, testkit.CLICase{Args: []string{sub, "-h"}, Exit: 0, Contains: "Usage of " + sub})
	}
	testkit.CheckCLI(t, testkit.Build(t, "./cmd/settlectl"), cases)
}

func TestNodeURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7700":           "http://127.0.0.1:7700",
		"http://127.0.0.1:7700/":   "http://127.0.0.1:7700",
		"https://bank.example:443": "https://bank.example:443",
	} {
		nf := nodeFlags{node: in}
		if c, err := nf.client(); err != nil || c.Base() != want {
			t.Errorf("-node %q: base %v, %v; want %q", in, c, err, want)
		}
	}
}
