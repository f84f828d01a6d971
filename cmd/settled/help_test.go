package main

import (
	"os/exec"
	"strings"
	"testing"
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
