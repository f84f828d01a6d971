package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/loadgen"
)

// TestCrashRecoveryQueue runs the real settled binary on the rtgs-day mix's
// genesis (banks short of liquidity, gridlock resolution every block) under a
// load of queued payments, kills it with SIGKILL while the queue is busy,
// restarts it, and checks that every transaction whose commit the event
// stream acknowledged is still committed, that every queue exit it announced
// (released, offset, expired) is what the restarted node reports, and that a
// replay of the stored blocks from genesis reaches the recovered state hash,
// which covers the queue.
func TestCrashRecoveryQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildSettled(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	g, err := loadgen.MixGenesisFor(loadgen.MixRTGSDay, devnet.ChainID, 10)
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	gpath := filepath.Join(dir, "day-genesis.json")
	if err := os.WriteFile(gpath, gb, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "init", "-dir", dir, "-genesis", gpath, "-api", addr).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config.json")
	p := start(t, bin, "run", "-config", cfg)
	defer p.cmd.Process.Kill()
	waitReady(t, addr, p)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acked := newAckSet()
	exits := &exitLog{outcome: map[string]string{}}
	go acked.follow(ctx, addr)
	go exits.follow(ctx, addr)
	raws := dayPayments(t, 6000)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < len(raws) && ctx.Err() == nil; i += 200 {
			batch := raws[i:min(i+200, len(raws))]
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/v1/batch", bytes.NewReader(txn.EncodeBatch(batch)))
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for (acked.len() < 2000 || exits.len() < 50) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	cancel()
	wg.Wait()
	hashes, announced := acked.snapshot(), exits.snapshot()
	if len(hashes) == 0 || len(announced) == 0 {
		t.Fatalf("killed with %d commits and %d queue exits acknowledged; output:\n%s", len(hashes), len(announced), p.out)
	}
	t.Logf("killed with %d acknowledged commits and %d announced queue exits", len(hashes), len(announced))

	p2 := start(t, bin, "run", "-config", cfg)
	defer p2.cmd.Process.Kill()
	waitReady(t, addr, p2)
	checkCommitted(t, addr, hashes)
	for h, outcome := range announced {
		var st struct {
			Result string `json:"result"`
			Queue  struct {
				Status string `json:"status"`
			} `json:"queue"`
		}
		getJSON(t, "http://"+addr+"/v1/tx/"+h, &st)
		if st.Result != "queued" || st.Queue.Status != outcome {
			t.Fatalf("queued tx %s announced %q, after restart result %q queue status %q", h, outcome, st.Result, st.Queue.Status)
		}
	}
	stopAndVerify(t, bin, cfg, addr, p2)
}

// dayPayments signs the first n payments of the rtgs-day mix.
func dayPayments(t *testing.T, n int) [][]byte {
	t.Helper()
	spec, err := loadgen.MixSpecFor(loadgen.MixRTGSDay, 1, 10, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	keys := loadgen.DemoKeys(devnet.ChainID, spec.AccountCount())
	env := loadgen.Env{ChainID: devnet.ChainID}
	for _, k := range keys {
		env.Accounts = append(env.Accounts, k.AccountID())
		env.StartSeqs = append(env.StartSeqs, 1)
	}
	w, err := loadgen.NewMixWorkload(loadgen.MixRTGSDay, spec, env)
	if err != nil {
		t.Fatal(err)
	}
	raws := make([][]byte, n)
	for i := range raws {
		var tx txn.Tx
		signer := w.Next(&tx)
		if err := txn.Sign(&tx, keys[signer]); err != nil {
			t.Fatal(err)
		}
		raws[i] = tx.Bytes()
	}
	return raws
}

// exitLog records the queue exits the event stream announced: queued
// transaction hash → outcome.
type exitLog struct {
	mu      sync.Mutex
	outcome map[string]string
}

func (e *exitLog) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.outcome)
}

func (e *exitLog) snapshot() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.outcome))
	for h, o := range e.outcome {
		out[h] = o
	}
	return out
}

func (e *exitLog) follow(ctx context.Context, addr string) {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/v1/events?from=0", addr), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Hash    string `json:"hash"`
			Outcome string `json:"outcome"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Outcome == "" {
			continue
		}
		e.mu.Lock()
		e.outcome[ev.Hash] = ev.Outcome
		e.mu.Unlock()
	}
}
