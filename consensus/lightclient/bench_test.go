package lightclient_test

import (
	"encoding/json"
	"testing"

	"settle/consensus/lightclient"
	"settle/engine/txn"
)

// BenchmarkVerifyTx measures a whole transaction proof's check: decoding the
// header and the QC, three ZIP-215 signature verifications, the fold and the
// path. The signatures are most of it; a state path of a 10-million-account
// tree adds about 24 hashes (engine/merkle's BenchmarkVerify10M).
//
//	go test ./consensus/lightclient -run '^$' -bench . -benchtime 2000x
func BenchmarkVerifyTx(b *testing.B) {
	t := &testing.T{}
	_, p := buildExample(t)
	trust, err := lightclient.FromGenesis(exampleGenesis())
	if err != nil {
		b.Fatal(err)
	}
	var h txn.Hash
	copy(h[:], p.TxHash)
	b.ResetTimer()
	for range b.N {
		if _, err := trust.VerifyTx(p, h); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	js, _ := json.Marshal(p)
	b.ReportMetric(float64(len(js)), "json-bytes")
	b.ReportMetric(float64(len(p.Header)+len(p.Certificate)+32*len(p.Path)+32+len(p.Steps)*72+len(p.Tx)), "binary-bytes")
}
