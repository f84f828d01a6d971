// Package consensus holds Settle's BFT ordering: the pure HotStuff core
// (hotstuff), the validator's driver of it (cluster), the replica transport
// (transport) and the deterministic cluster simulator (sim). The driver
// implements engine/chain's Orderer, the contract the validator pipeline
// (engine/node) consumes; nothing in engine imports consensus.
package consensus
