package loadgen_test

import (
	"testing"

	"settle/engine/devnet"
	"settle/loadgen"
)

// The dev genesis funds devnet's demo accounts and the generator signs for
// loadgen's: the two derivations must agree.
func TestDemoKeyMatchesDevnetGenesis(t *testing.T) {
	for _, i := range []int{0, 1, 9999} {
		if loadgen.DemoKey(devnet.ChainID, i).PublicKey() != devnet.DemoKey(devnet.ChainID, i).PublicKey() {
			t.Errorf("demo key %d differs between loadgen and devnet", i)
		}
	}
}
