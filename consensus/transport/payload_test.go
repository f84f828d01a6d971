package transport

import (
	"encoding/binary"
	"math/rand/v2"
)

// proposalPayload builds a deterministic stand-in for a proposal carrying txCount
// payment transactions laid out as in docs/protocol.md (chain id "settle-test",
// no memo, one signature: 218 bytes each), each preceded by a u16 length. Senders
// and destinations come from 500 accounts, so addresses and public keys repeat;
// sequences, amounts and the 64-byte signatures do not.
func proposalPayload(txCount int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	const accounts = 500
	ids := make([][20]byte, accounts)
	keys := make([][32]byte, accounts)
	for i := range accounts {
		fill(rng, ids[i][:])
		fill(rng, keys[i][:])
	}
	out := make([]byte, 0, 128+txCount*220)
	out = append(out, make([]byte, 128)...) // block header: view, parent, QC, ...
	fill(rng, out)
	for range txCount {
		from, to := rng.IntN(accounts), rng.IntN(accounts)
		tx := make([]byte, 0, 218)
		tx = append(tx, "SETTLETX"...)
		tx = append(tx, 1, 1, byte(len(testChainID)))
		tx = append(tx, testChainID...)
		tx = append(tx, ids[from][:]...)
		tx = binary.BigEndian.AppendUint64(tx, rng.Uint64N(1_000_000))  // sequence
		tx = binary.BigEndian.AppendUint64(tx, 10)                      // fee
		tx = binary.BigEndian.AppendUint64(tx, 1_000+rng.Uint64N(1000)) // last valid height
		tx = binary.BigEndian.AppendUint16(tx, 0)                       // memo length
		tx = append(tx, ids[to][:]...)
		tx = append(tx, make([]byte, 23)...) // native asset
		tx = binary.BigEndian.AppendUint64(tx, 1+rng.Uint64N(1<<40))
		tx = append(tx, 1)
		tx = append(tx, keys[from][:]...)
		sig := make([]byte, 64)
		fill(rng, sig)
		tx = append(tx, sig...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(tx)))
		out = append(out, tx...)
	}
	return out
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
