package loadgen

import (
	"encoding/json"
	"reflect"
	"testing"
)

type scannedTx struct{ Hash, Result string }

// viaJSON reads a block with encoding/json, the reference.
func viaJSON(data []byte) (uint64, []scannedTx, bool) {
	var ev blockEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return 0, nil, false
	}
	var txs []scannedTx
	for _, t := range ev.Txs {
		txs = append(txs, scannedTx{t.Hash, t.Result})
	}
	return ev.Height, txs, true
}

func viaScan(data []byte) (uint64, []scannedTx, bool) {
	var h uint64
	var txs []scannedTx
	ok := scanBlock(data, &h, func(hash, result []byte) { txs = append(txs, scannedTx{string(hash), string(result)}) })
	return h, txs, ok
}

var blockSamples = []string{
	`{"height":42,"hash":"ab","state_hash":"cd","time_ms":1732550000000,"tx_count":2,"txs":[{"hash":"aa","result":"success"},{"hash":"bb","result":"insufficient_funds"}]}`,
	` { "txs" : [ { "result" : "success" , "hash" : "aa" } ] , "height" : 7 } `,
	`{"height":1,"cert":{"sigs":[{"a":"]}"}],"x":[1,2,{"y":null}]},"txs":[],"ok":true,"f":-1.5e3}`,
	`{"height":3,"txs":[{"hash":"aa","result":"success","extra":{"deep":["}",{"z":"\"q\""}]}}]}`,
	`{"height":3,"txs":[{"hash":"a\u0061","result":"success"}]}`, // escape: fast path gives up
	`{"height":3,"txs":[{"hash":"aa","result":"success"}`,        // truncated
	`{"height":3,"txs":[{"hash":"aa","result":"success"}]} trailing`,
	`{"height":"3"}`,
	`[]`,
	``,
}

func TestScanBlockAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range blockSamples {
		hs, txs, ok := viaScan([]byte(in))
		if !ok {
			continue // the caller falls back to encoding/json
		}
		hj, txj, okj := viaJSON([]byte(in))
		if !okj || hs != hj || !reflect.DeepEqual(txs, txj) {
			t.Errorf("%s:\nscan %d %v\njson %d %v (ok %v)", in, hs, txs, hj, txj, okj)
		}
	}
	if _, _, ok := viaScan([]byte(blockSamples[0])); !ok {
		t.Error("the fast path rejects the documented block event")
	}
}

func FuzzScanBlock(f *testing.F) {
	for _, s := range blockSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		hs, txs, ok := viaScan(in)
		if !ok {
			return
		}
		hj, txj, okj := viaJSON(in)
		if !okj || hs != hj || !reflect.DeepEqual(txs, txj) {
			t.Fatalf("%q: scan %d %v, json %d %v (ok %v)", in, hs, txs, hj, txj, okj)
		}
	})
}

func TestScanAllAccepted(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want bool
	}{
		{`{"accepted":2,"rejected":0,"retry_after_ms":0,"results":[{"hash":"a","code":"accepted"},{"hash":"b","code":"accepted"}]}`, 2, true},
		{` {"results":[],"rejected" : 0 ,"accepted": 3}`, 3, true},
		{`{"accepted":1,"rejected":1,"results":[]}`, 2, false},
		{`{"accepted":2,"results":[]}`, 2, false}, // no rejected count: full decode
		{`{"accepted":2,"rejected":0,"results":[{"message":"\"rejected\":0"}]}`, 3, false},
		{`{"accepted":2,"rejected":0`, 2, false},
	}
	for _, tt := range tests {
		if got := scanAllAccepted([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("scanAllAccepted(%s, %d) = %v, want %v", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestParseBatchAnswer(t *testing.T) {
	var ans batchAnswer
	mixed := `{"accepted":1,"rejected":1,"retry_after_ms":5,"results":[{"hash":"a","code":"accepted"},{"hash":"b","code":"mempool_full","message":"full"}]}`
	if got := parseBatchAnswer(200, []byte(mixed), 2, &ans); !reflect.DeepEqual(got, []string{"", "mempool_full"}) {
		t.Errorf("mixed answer: %q", got)
	}
	if got := parseBatchAnswer(200, []byte(`{"accepted":2,"rejected":0,"results":[{},{}]}`), 2, &ans); got != nil {
		t.Errorf("all accepted: %q", got)
	}
	if got := parseBatchAnswer(200, []byte(`{"accepted":1,"rejected":0,"results":[{}]}`), 2, &ans); !reflect.DeepEqual(got, []string{codeBadAnswer, codeBadAnswer}) {
		t.Errorf("short answer: %q", got)
	}
	if got := parseBatchAnswer(503, []byte(`{"code":"overloaded","message":"busy"}`), 2, &ans); !reflect.DeepEqual(got, []string{"overloaded", "overloaded"}) {
		t.Errorf("503: %q", got)
	}
	if got := parseBatchAnswer(502, []byte(`<html>`), 1, &ans); !reflect.DeepEqual(got, []string{"http_502"}) {
		t.Errorf("502: %q", got)
	}
}
