// Package invariants switches on the expensive assertions, pebble-style: built
// with -tags invariants, Enabled is true and the pipeline checks the ledger's
// and the mempool's invariants after every block (O(state), so never in
// production). Cheap assertions are always on, wherever they hold.
//
//	go test -tags invariants ./engine/node ./consensus/cluster
package invariants
