package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

func sampleBlock() *BlockRecord {
	return &BlockRecord{Height: 7, TimeMs: -3, Hash: txn.Hash{1}, Parent: txn.Hash{2}, StateHash: txn.Hash{3},
		StateRoot: txn.Hash{8}, TxRoot: txn.Hash{9}, Header: []byte("consensus header"), ClaimHeight: 5,
		Receipts: []ledger.Receipt{
			{Hash: txn.Hash{4}, Result: codes.Success, Fee: 10},
			{Hash: txn.Hash{5}, Result: codes.SeqTooFar},
			{Hash: txn.Hash{6}, Result: codes.NoDestination, Fee: 1 << 62},
		},
		Cert: []byte("certificate")}
}

func TestBlockHeaderRoundTrip(t *testing.T) {
	for _, rec := range []*BlockRecord{sampleBlock(), {Height: 1}} {
		got, n, err := decodeBlockHeader(appendBlockHeader(nil, rec, len(rec.Receipts)))
		if err != nil {
			t.Fatal(err)
		}
		if n != uint32(len(rec.Receipts)) {
			t.Errorf("transaction count %d, want %d", n, len(rec.Receipts))
		}
		want := *rec
		want.Receipts = nil
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("round trip\n got %+v\nwant %+v", got, &want)
		}
	}
}

// TestDecodeBlockHeaderCorrupt: every truncation and a set of targeted
// corruptions of a valid header fail with an error; none panics.
func TestDecodeBlockHeaderCorrupt(t *testing.T) {
	good := appendBlockHeader(nil, sampleBlock(), len(sampleBlock().Receipts))
	for n := 0; n < len(good); n++ {
		if _, _, err := decodeBlockHeader(good[:n]); err == nil {
			t.Errorf("a header truncated to %d of %d bytes decoded", n, len(good))
		}
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"cert length too large", mutate(func(b []byte) []byte { b[192+len("consensus header")+3]++; return b }), "bad certificate length"},
		{"header length too large", mutate(func(b []byte) []byte { b[188] = 0xff; return b }), "bad consensus header length"},
		{"header length one too many", mutate(func(b []byte) []byte { b[191]++; return b }), "bad certificate length"},
		{"trailing byte", append(append([]byte(nil), good...), 0), "bad certificate length"},
	}
	for _, tc := range tests {
		if _, _, err := decodeBlockHeader(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestCorruptRecordsReported overwrites stored records with garbage: lookups,
// Load and Replay report an error instead of panicking or inventing state.
func TestCorruptRecordsReported(t *testing.T) {
	g := testGenesis(testAccounts)
	tests := []struct {
		name    string
		corrupt func(s *Store, txs [][]*txn.Tx) error
		check   func(s *Store, txs [][]*txn.Tx) error
		want    string
	}{
		{"block record", func(s *Store, _ [][]*txn.Tx) error { return s.db.Set(blockKey(2), []byte("garbage"), pebble.Sync) },
			func(s *Store, _ [][]*txn.Tx) error { _, err := s.Block(2); return err }, "block record is 7 bytes"},
		{"block record in replay", func(s *Store, _ [][]*txn.Tx) error {
			b := appendBlockHeader(nil, sampleBlock(), len(sampleBlock().Receipts))
			return s.db.Set(blockKey(2), b[:len(b)-1], pebble.Sync)
		}, func(s *Store, _ [][]*txn.Tx) error { _, err := s.Replay(g); return err }, "bad certificate length"},
		{"block with another transaction count", func(s *Store, _ [][]*txn.Tx) error {
			return s.db.Set(blockKey(2), appendBlockHeader(nil, sampleBlock(), len(sampleBlock().Receipts)), pebble.Sync)
		}, func(s *Store, _ [][]*txn.Tx) error { _, err := s.Replay(g); return err }, "1 transaction records, the header says 3"},
		{"transaction record missing", func(s *Store, _ [][]*txn.Tx) error {
			return s.db.Delete(bodyKey(1, 0), pebble.Sync)
		}, func(s *Store, _ [][]*txn.Tx) error { _, err := s.Block(1); return err }, "0 transaction records, the header says 2"},
		{"tx index entry", func(s *Store, txs [][]*txn.Tx) error {
			return s.db.Set(txKey(txs[0][0].Hash()), []byte{1, 2}, pebble.Sync)
		},
			func(s *Store, txs [][]*txn.Tx) error { _, err := s.Tx(txs[0][0].Hash()); return err }, "truncated"},
		{"tx index entry pointing elsewhere", func(s *Store, txs [][]*txn.Tx) error {
			return s.db.Set(txKey(txs[0][0].Hash()), appendTxIndex(nil, 1, 1, true), pebble.Sync)
		},
			func(s *Store, txs [][]*txn.Tx) error { _, err := s.Tx(txs[0][0].Hash()); return err }, "points at 1.1"},
		{"tx bytes", func(s *Store, txs [][]*txn.Tx) error {
			tr, _ := s.Tx(txs[0][0].Hash())
			raw := tr.Raw[:len(tr.Raw)-3] // a truncated transaction no longer decodes
			return s.db.Set(bodyKey(1, 0), appendBody(nil, &tr.Receipt, raw), pebble.Sync)
		}, func(s *Store, _ [][]*txn.Tx) error { _, err := s.Replay(g); return err }, "replay block 1 tx 0: malformed"},
		{"account record", func(s *Store, txs [][]*txn.Tx) error {
			return s.db.Set(accountKey(txs[0][0].Sender), []byte{0, 1}, pebble.Sync)
		}, func(s *Store, _ [][]*txn.Tx) error { _, err := s.Load(g); return err }, "load accounts"},
		{"asset record", func(s *Store, _ [][]*txn.Tx) error { return s.db.Set(assetKey(usd()), []byte{0}, pebble.Sync) },
			func(s *Store, _ [][]*txn.Tx) error { _, err := s.Load(g); return err }, "load assets"},
		{"meta record", func(s *Store, _ [][]*txn.Tx) error { return s.db.Set(keyMeta, []byte{9}, pebble.Sync) },
			func(s *Store, _ [][]*txn.Tx) error { _, err := s.Load(g); return err }, "ledger meta is 1 bytes"},
		{"history entry", func(s *Store, txs [][]*txn.Tx) error {
			tx := txs[0][0]
			return s.db.Set(historyKey(tx.Sender, 1, 0, RoleSender, 0), []byte{1, 2, 3}, pebble.Sync)
		}, func(s *Store, txs [][]*txn.Tx) error { _, _, err := s.History(txs[0][0].Sender, "", 10); return err },
			"history entry truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), g)
			defer s.Close()
			l, _ := s.Load(g)
			txs := [][]*txn.Tx{
				{pay(t, 1, 2, 1, 5, txn.Native), pay(t, 3, 4, 1, 5, txn.Native)},
				{pay(t, 1, 2, 2, 5, txn.Native)},
			}
			for _, b := range txs {
				commit(t, s, l, b)
			}
			if err := tc.corrupt(s, txs); err != nil {
				t.Fatal(err)
			}
			if err := tc.check(s, txs); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeBlockHeader: decoding never panics, and whatever decodes
// re-encodes to the same bytes (the encoding is canonical).
func FuzzDecodeBlockHeader(f *testing.F) {
	f.Add(appendBlockHeader(nil, sampleBlock(), len(sampleBlock().Receipts)))
	f.Add(appendBlockHeader(nil, &BlockRecord{}, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, n, err := decodeBlockHeader(b)
		if err != nil {
			return
		}
		rec.Receipts = make([]ledger.Receipt, n)
		if out := appendBlockHeader(nil, rec, len(rec.Receipts)); string(out) != string(b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
	})
}

// TestMissingChunkReported: a block whose middle chunk of transaction records
// is gone is reported, not served short.
func TestMissingChunkReported(t *testing.T) {
	g := testGenesis(testAccounts)
	s := openStore(t, t.TempDir(), g)
	defer s.Close()
	l, _ := s.Load(g)
	txs := randomBlocks(t, s, l, 5, 1, 2*bodyChunkTxs+10)[0]
	if err := s.db.Delete(bodyKey(1, 1), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Block(1); err == nil || !strings.Contains(err.Error(), "out of place (want chunk 1 after 64 records)") {
		t.Fatalf("Block with chunk 1 missing: %v", err)
	}
	if _, err := s.Tx(txs[bodyChunkTxs+1].Hash()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Tx in the missing chunk: %v", err)
	}
	if tr, err := s.Tx(txs[2*bodyChunkTxs+3].Hash()); err != nil || tr.Index != 2*bodyChunkTxs+3 {
		t.Fatalf("Tx in the last chunk: %+v, %v", tr, err)
	}
}
