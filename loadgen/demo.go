package loadgen

import (
	"crypto/sha256"
	"runtime"
	"strconv"
	"sync"

	"settle/engine/txn"
)

// demoContext prefixes every demo key's seed.
const demoContext = "settle/demo/"

// DemoKey returns the signing key of demo account i on chain chainID. The seed is
//
//	SHA-256("settle/demo/" || chainID || "/" || decimal(i))
//
// with i written in base 10 without sign or leading zeros. A dev node's genesis funds
// accounts 0..N-1 derived this way, and the load generator signs for them, so both
// sides agree without exchanging key files. These keys are public knowledge: never
// fund them on a network that matters.
func DemoKey(chainID string, i int) txn.Key {
	buf := make([]byte, 0, len(demoContext)+len(chainID)+1+20)
	buf = append(buf, demoContext...)
	buf = append(buf, chainID...)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, int64(i), 10)
	seed := sha256.Sum256(buf)
	k, err := txn.KeyFromSeed(seed[:])
	if err != nil {
		// INVARIANT: a SHA-256 digest is always a valid 32-byte seed.
		panic("loadgen: demo seed rejected: " + err.Error())
	}
	return k
}

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
