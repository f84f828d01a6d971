package loadgen

import (
	"runtime"
	"sync"

	"settle/engine/devnet"
	"settle/engine/txn"
)

// DemoKey returns the signing key of demo account i on chain chainID: the same
// derivation as the dev genesis (engine/devnet), so the load generator signs for
// the accounts a dev node funds without exchanging key files. These keys are public
// knowledge: never fund them on a network that matters.
func DemoKey(chainID string, i int) txn.Key { return devnet.DemoKey(chainID, i) }

// DemoKeys derives demo keys 0..n-1 on all cores.
func DemoKeys(chainID string, n int) []txn.Key {
	keys := make([]txn.Key, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				keys[i] = DemoKey(chainID, i)
			}
		}()
	}
	wg.Wait()
	return keys
}
