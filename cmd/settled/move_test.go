package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"settle/engine/client"
	"settle/internal/testpay"
)

// TestValidatorMoves: a validator is its key, not its address. The highest
// validator, which every other one dials and which dials nobody, restarts on a
// new port; the others are not touched and keep its old address. It dials them
// back, and with another validator stopped every commit needs it in the
// quorum: the payments still commit, on it too (docs/operations.md, "Moving a
// validator").
func TestValidatorMoves(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs four real validators")
	}
	bin := buildSettled(t)
	vs := startTestnet(t, bin, t.TempDir(), 4, 8, nil)
	c, err := client.New(vs[0].api)
	if err != nil {
		t.Fatal(err)
	}
	pay := func(from, seq uint64) {
		t.Helper()
		tx := testpay.Payment(t, int(from), int(from)+4, seq, 5)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if _, err := c.Submit(ctx, tx); err != nil {
			t.Fatalf("submit: %v", err)
		}
		if _, err := c.WaitCommitted(ctx, tx.Hash(), -1); err != nil {
			t.Fatalf("payment %d/%d: %v", from, seq, err)
		}
	}
	pay(0, 1)

	moved := vs[3]
	moved.stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newAddr := ln.Addr().String()
	ln.Close()
	patchJSON(t, moved.cfg, "cluster", map[string]any{"listen_addr": newAddr})
	moved.start(t, bin)
	waitReady(t, moved.api, moved.p)

	// v2 stops: v0, v1 and the moved v3 are the only quorum left.
	vs[2].stop()
	pay(1, 1)
	pay(0, 2)
	waitFor(t, 30*time.Second, "the moved validator commits the payments", func() bool {
		return moved.status(t).Height >= vs[0].status(t).Height
	})
	resp, err := http.Get("http://" + moved.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(body)
	for _, peer := range []string{"v0", "v1"} {
		want := `settle_transport_reverse_dials_total{peer="` + peer + `"} `
		i := strings.Index(metrics, want)
		if i < 0 || strings.HasPrefix(metrics[i+len(want):], "0\n") {
			t.Errorf("the moved validator did not dial %s back: %q", peer, want)
		}
	}
}
