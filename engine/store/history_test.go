package store

import (
	"reflect"
	"strings"
	"testing"

	"settle/engine/codes"
	"settle/engine/txn"
)

// TestHistoryPagination builds a known history for account 1 and reads it back in
// pages of several sizes: newest first, each page continuing where the cursor of
// the previous one points, the pages together equal to the whole history.
func TestHistoryPagination(t *testing.T) {
	g := testGenesis(testAccounts)
	s := openStore(t, t.TempDir(), g)
	defer s.Close()
	l, _ := s.Load(g)
	a1 := keys[1].AccountID()
	var want []HistoryEntry // oldest first
	seq := uint64(1)
	for b := uint64(1); b <= 6; b++ {
		out := pay(t, 1, 2, seq, 100, txn.Native)             // sender entry
		in := pay(t, 3, 1, b, 7, txn.Native)                  // receiver entry
		poor := pay(t, 1, 2, seq+1, testNative*2, txn.Native) // insufficient funds: sender entry only
		far := pay(t, 1, 2, seq+9, 1, txn.Native)             // seq_too_far: no entry at all
		seq += 2
		_, res := commit(t, s, l, []*txn.Tx{out, far, in, poor})
		want = append(want,
			HistoryEntry{Height: b, Index: 0, Role: RoleSender, Hash: out.Hash(), Result: codes.Success, Asset: txn.Native, Amount: 100, Fee: testFee, Counterparty: keys[2].AccountID()},
			HistoryEntry{Height: b, Index: 2, Role: RoleReceiver, Hash: in.Hash(), Result: codes.Success, Asset: txn.Native, Amount: 7, Fee: testFee, Counterparty: keys[3].AccountID()},
			HistoryEntry{Height: b, Index: 3, Role: RoleSender, Hash: poor.Hash(), Result: codes.InsufficientFunds, Asset: txn.Native, Amount: testNative * 2, Fee: testFee, Counterparty: keys[2].AccountID()})
		if res.Receipts[1].Result != codes.SeqTooFar || res.Receipts[3].Result != codes.InsufficientFunds {
			t.Fatalf("block %d receipts %+v", b, res.Receipts)
		}
	}
	// An issued-asset payment records its asset.
	issue := pay(t, 0, 1, 1, 55, usd())
	commit(t, s, l, []*txn.Tx{issue})
	want = append(want, HistoryEntry{Height: 7, Index: 0, Role: RoleReceiver, Hash: issue.Hash(), Result: codes.Success, Asset: usd(), Amount: 55, Fee: testFee, Counterparty: keys[0].AccountID()})
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i] // newest first
	}

	for _, limit := range []int{1, 2, 5, len(want) - 1, len(want), HistoryPageMax} {
		var got []HistoryEntry
		cursor, pages := "", 0
		for {
			page, next, err := s.History(a1, cursor, limit)
			if err != nil {
				t.Fatalf("limit %d page %d: %v", limit, pages, err)
			}
			if len(page) > limit || len(page) == 0 {
				t.Fatalf("limit %d page %d has %d entries", limit, pages, len(page))
			}
			got = append(got, page...)
			pages++
			if next == "" {
				break
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("limit %d: history\n got %+v\nwant %+v", limit, got, want)
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
	// An account with no history, and one that only received.
	if page, next, err := s.History(keys[22].AccountID(), "", 10); err != nil || len(page) != 0 || next != "" {
		t.Errorf("empty history: %v %q %v", page, next, err)
	}
}

func TestHistoryBadArguments(t *testing.T) {
	g := testGenesis(testAccounts)
	s := openStore(t, t.TempDir(), g)
	defer s.Close()
	a := keys[1].AccountID()
	tests := []struct {
		cursor string
		limit  int
		want   string
	}{
		{"", 0, "history limit 0 must be 1 to 1000"},
		{"", -1, "history limit -1 must be 1 to 1000"},
		{"", HistoryPageMax + 1, "history limit 1001 must be 1 to 1000"},
		{"zz", 10, `history cursor "zz" is not valid`},
		{"00", 10, `history cursor "00" is not valid`},
		{strings.Repeat("00", 14), 10, "is not valid"},
	}
	for _, tc := range tests {
		if _, _, err := s.History(a, tc.cursor, tc.limit); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("History(%q, %d): %v, want %q", tc.cursor, tc.limit, err, tc.want)
		}
	}
}
