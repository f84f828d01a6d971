package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// blockEvent is one committed block as the /v1/events stream announces it.
type blockEvent struct {
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	Txs    []struct {
		Hash string `json:"hash"`
	} `json:"txs"`
}

// streamBlocks reads one /v1/events connection to addr, starting after height
// from, calling fn for every block until the stream or ctx ends; it returns the
// last height seen (from when none).
func streamBlocks(ctx context.Context, addr string, from uint64, fn func(*blockEvent)) uint64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/v1/events?from=%d", addr, from), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return from
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev blockEvent
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Height == 0 {
			continue
		}
		from = ev.Height
		fn(&ev)
	}
	return from
}
