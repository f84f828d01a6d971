package loadgen

import (
	"testing"

	"settle/engine/codes"
	"settle/engine/txn"
)

// TestDayMixQueuesAndSettles signs the first 3,000 payments of the rtgs-day
// mix through the pre-signing path and runs them in blocks of 100 on its own
// genesis: every one is a queued payment that either settles at once or
// waits (none fails), some wait, and the queue releases or offsets some.
func TestDayMixQueuesAndSettles(t *testing.T) {
	spec, err := MixSpecFor(MixRTGSDay, 1, 10, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	g, err := MixGenesisFor(MixRTGSDay, mixChain, 10)
	if err != nil {
		t.Fatal(err)
	}
	if g.Queue == nil || g.Queue.GridlockEveryBlocks != MixDayGridlockK {
		t.Fatalf("the genesis does not run gridlock resolution: %+v", g.Queue)
	}
	keys := DemoKeys(mixChain, spec.AccountCount())
	env := Env{ChainID: mixChain}
	for _, k := range keys {
		env.Accounts = append(env.Accounts, k.AccountID())
		env.StartSeqs = append(env.StartSeqs, 1)
	}
	w, err := NewMixWorkload(MixRTGSDay, spec, env)
	if err != nil {
		t.Fatal(err)
	}
	n, err := MixDayPayments()
	if err != nil || n < 10_000 {
		t.Fatalf("the day holds %d payments (%v)", n, err)
	}
	got := execBlocks(t, g, signedBlocks(t, w, keys, 30, 100))
	q := got[txn.TypeQueuedPayment]
	if len(got) != 1 || q[codes.Success]+q[codes.Queued] != 3000 || q[codes.Queued] == 0 || q[codes.Success] == 0 {
		t.Fatalf("results %v: want only queued payments, settled at once or queued", got)
	}
}
