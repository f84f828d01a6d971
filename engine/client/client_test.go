package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"settle/engine/client"
	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/node"
	"settle/engine/txn"
	"settle/internal/testnode"
	"settle/internal/testpay"
)

// startNode runs a real single validator behind the real HTTP API
// (internal/testnode) and returns a client of it.
func startNode(t *testing.T) (*client.Client, *node.Node) {
	t.Helper()
	n, addr := testnode.Start(t, 8, nil)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	return c, n
}

// strict decodes a raw answer into v refusing unknown fields: the client's
// types must carry everything the server answers.
func strict(t *testing.T, raw []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Errorf("the client's %T lacks what the server sends: %v\n%s", v, err, raw)
	}
}

func TestClientAgainstRealNode(t *testing.T) {
	c, _ := startNode(t)
	ctx := t.Context()
	st, err := c.Status(ctx)
	if err != nil || st.ChainID != devnet.ChainID || !st.Ready {
		t.Fatalf("status %+v, %v", st, err)
	}

	tx := testpay.Payment(t, 1, 2, 1, 100)
	h, err := c.Submit(ctx, tx)
	if err != nil || h != tx.Hash() {
		t.Fatalf("submit: %s, %v", h, err)
	}
	if _, err := c.Submit(ctx, tx); client.CodeOf(err) != codes.Duplicate {
		t.Fatalf("a second submission: %v, want duplicate", err)
	}
	done, err := c.WaitCommitted(ctx, h, int64(st.Height))
	if err != nil || !done.Committed() || done.Result != "success" || uint64(done.Fee) == 0 {
		t.Fatalf("wait: %+v, %v", done, err)
	}

	good := testpay.Payment(t, 3, 4, 1, 5)
	raw := append([]byte(nil), testpay.Payment(t, 5, 4, 1, 5).Bytes()...)
	raw[len(raw)-1] ^= 1 // the signature's last byte
	bad, err := txn.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.SubmitBatch(ctx, []*txn.Tx{good, bad})
	if err != nil || res.Accepted != 1 || res.Results[0].Code != "accepted" || res.Results[1].Code != codes.BadSignature {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	if _, err := c.WaitCommitted(ctx, good.Hash(), -1); err != nil {
		t.Fatal(err)
	}

	a, err := c.Account(ctx, tx.Sender)
	if err != nil || a.Sequence != 2 || a.Balances[0].Asset != "STL" {
		t.Fatalf("account %+v, %v", a, err)
	}
	hist, err := c.History(ctx, tx.Dest, "", 10)
	if err != nil || len(hist.Entries) != 1 || hist.Entries[0].Role != "receiver" || hist.Entries[0].Hash != h.String() {
		t.Fatalf("history %+v, %v", hist, err)
	}
	st, _ = c.Status(ctx)
	for path, v := range map[string]any{
		"/v1/status": &client.Status{}, "/v1/account/" + tx.Sender.String(): &client.Account{},
		"/v1/tx/" + h.String(): &client.TxStatus{}, "/v1/account/" + tx.Dest.String() + "/history": &client.History{},
		fmt.Sprintf("/v1/report?from=1&to=%d", st.Height): &client.Report{},
	} {
		raw, err := c.Raw(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		strict(t, raw, v)
	}
	rep, err := c.Report(ctx, 1, st.Height, &tx.Dest)
	if err != nil || len(rep.Positions) != 1 || rep.Positions[0].Net != "100" {
		t.Fatalf("report %+v, %v", rep, err)
	}
	if _, err := c.Report(ctx, 1, st.Height+100, nil); client.CodeOf(err) != codes.BadRequest {
		t.Fatalf("a report past the head: %v, want bad_request", err)
	}

	// The stream replays from height 0 and hands every block over once.
	var heights []uint64
	err = c.Events(ctx, 0, func(ev *client.BlockEvent) bool {
		heights = append(heights, ev.Height)
		return ev.Height < st.Height
	})
	if err != nil || len(heights) != int(st.Height) || heights[0] != 1 {
		t.Fatalf("events: heights %v, %v", heights, err)
	}
}

func TestClientNodeAddresses(t *testing.T) {
	for node, ok := range map[string]bool{
		"127.0.0.1:7700": true, "http://127.0.0.1:7700/": true, "https://bank.example:443": true,
		"ftp://x:1": false, "http://": false, "http://h:1/v1": false,
	} {
		c, err := client.New(node)
		if (err == nil) != ok {
			t.Errorf("New(%q): %v", node, err)
		}
		if ok && c.Base()[:4] != "http" {
			t.Errorf("New(%q) base %q", node, c.Base())
		}
	}
}

func TestWaitCommittedGivesUpOnAnExpiredTransaction(t *testing.T) {
	c, n := startNode(t)
	ctx := t.Context()
	// Sequence 2 without 1 waits in the mempool until its last valid height.
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: devnet.DemoKey(devnet.ChainID, 5).AccountID(),
		Seq: 2, Fee: 10, LastValid: n.Height() + 3, Dest: devnet.DemoKey(devnet.ChainID, 6).AccountID(), Amount: 1}
	if err := txn.Sign(tx, devnet.DemoKey(devnet.ChainID, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	// Blocks keep coming: others' payments.
	go func() {
		for seq := uint64(1); seq <= 40 && ctx.Err() == nil; seq++ {
			c.Submit(ctx, testpay.Payment(t, 1, 2, seq, 1))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.WaitCommitted(wctx, tx.Hash(), -1); err == nil || wctx.Err() != nil {
		t.Fatalf("wait for an expiring transaction: %v (want the drop, before the timeout)", err)
	}
}
