package node

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// TestNotAppliedIsNotCommitted drives the real node over HTTP through a
// transaction that a block carries but that does not apply (its fee can no
// longer be paid when it executes): it must not be announced on the event
// stream, GET /v1/tx must say dropped with the reason rather than committed,
// the block must mark it not applied, and the same bytes must commit later
// once they can, with the receipt that is then final.
func TestNotAppliedIsNotCommitted(t *testing.T) {
	n, _, _ := testNode(t, 8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()

	events := make(chan blockEvent, 64)
	go followEvents(t, base, events)

	// A (account 2) spends all but 5 of its balance; its next payment passes
	// admission (the committed balance covers it) but cannot pay its fee when it
	// executes.
	each := devnet.DefaultOptions().NativeEach
	drain, broke := pay(t, 2, 3, 1, each-15), pay(t, 2, 3, 2, 1)
	postBatch(t, base, drain, broke)

	var carried blockEvent
	for carried.Height == 0 {
		select {
		case ev := <-events:
			for _, tx := range ev.Txs {
				if tx.Hash == broke.Hash().String() {
					t.Fatalf("block %d announces the transaction that did not apply (%s)", ev.Height, tx.Result)
				}
			}
			if ev.Skipped > 0 {
				carried = ev
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no block skipped the transaction")
		}
	}
	var blk struct {
		Txs     []string `json:"txs"`
		Results []string `json:"results"`
		Applied []bool   `json:"applied"`
	}
	getJSON(t, fmt.Sprintf("%s/v1/block/%d", base, carried.Height), &blk)
	i := indexOf(blk.Txs, broke.Hash().String())
	if i < 0 || blk.Applied[i] || blk.Results[i] != "insufficient_funds" {
		t.Fatalf("block %d: %+v", carried.Height, blk)
	}
	var st struct {
		Status, Reason, Detail, Result string
	}
	getJSON(t, base+"/v1/tx/"+broke.Hash().String(), &st)
	if st.Status != "dropped" || st.Reason != "failed" || st.Detail != "insufficient_funds" {
		t.Fatalf("GET /v1/tx of the transaction that did not apply: %+v", st)
	}

	// Once A is funded again, the same bytes commit, and that receipt is final.
	postBatch(t, base, pay(t, 4, 2, 1, 1000))
	testkit.WaitFor(t, 20*time.Second, "the funding payment commits", func() bool {
		var funder struct {
			Sequence string `json:"sequence"`
		}
		getJSON(t, base+"/v1/account/"+devnet.DemoKey(devnet.ChainID, 4).AccountID().String(), &funder)
		return funder.Sequence == "2"
	})
	postBatch(t, base, broke)
	testkit.WaitFor(t, 20*time.Second, "the resubmitted transaction commits", func() bool {
		getJSON(t, base+"/v1/tx/"+broke.Hash().String(), &st)
		return st.Status == "committed"
	})
	if st.Result != "success" {
		t.Fatalf("final receipt %+v", st)
	}
}

type blockEvent struct {
	Height  uint64 `json:"height"`
	Skipped int    `json:"skipped"`
	Txs     []struct {
		Hash   string `json:"hash"`
		Result string `json:"result"`
	} `json:"txs"`
}

// followEvents reads /v1/events from height 0 until the test ends.
func followEvents(t *testing.T, base string, out chan<- blockEvent) {
	resp, err := http.Get(base + "/v1/events?from=0")
	if err != nil {
		t.Errorf("events: %v", err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev blockEvent
		if json.Unmarshal([]byte(line), &ev) == nil {
			select {
			case out <- ev:
			case <-t.Context().Done():
				return
			}
		}
	}
}

func postBatch(t *testing.T, base string, txs ...*txn.Tx) {
	t.Helper()
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Bytes()
	}
	resp, err := http.Post(base+"/v1/batch", "application/octet-stream", bytes.NewReader(txn.EncodeBatch(raws)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Accepted int `json:"accepted"`
		Results  []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.Accepted != len(txs) {
		t.Fatalf("batch: status %d, %+v, %v", resp.StatusCode, ans, err)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: status %d: %v", url, resp.StatusCode, err)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
