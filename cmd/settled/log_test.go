package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/store"
)

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// brokenBackend is the real node, but its block store fails and its status
// panics: the two kinds of internal error the API has to report.
type brokenBackend struct{ api.Backend }

func (brokenBackend) Block(h uint64) (*store.BlockRecord, error) {
	return nil, fmt.Errorf("load block %d: pebble: input/output error on /data/db/000042.sst", h)
}

func (brokenBackend) Status() api.Status { panic("status: invariant broken in test") }

// TestAPIErrorsReachTheNodeLog runs serve in this process, with the node's
// log captured, and checks that the API's internal errors and recovered
// panics reach it as settled[<node id>]: lines (docs/api.md promises it;
// serve used to build the API without a logger, so they went nowhere),
// while the client sees only a generic 500.
func TestAPIErrorsReachTheNodeLog(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	if err := writeInit(dir, 4, addr, "settle-logtest", ""); err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveWith(ctx, filepath.Join(dir, "config.json"), "", &logged, logOptions{format: "json", level: "info"},
			func(b api.Backend) api.Backend { return brokenBackend{b} })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://" + addr
	waitServing(t, base, &logged)

	for _, tc := range []struct{ path, want string }{
		{"/v1/block/1", "api: GET /v1/block/1: load block 1: pebble: input/output error"},
		{"/v1/status", "api: panic serving GET /v1/status: status: invariant broken in test"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Code, Message string }
		if resp.StatusCode != 500 || json.Unmarshal(body, &e) != nil || e.Code != "internal" || strings.Contains(string(body), "pebble") {
			t.Errorf("GET %s: %d %s, want a generic 500 internal", tc.path, resp.StatusCode, body)
		}
		deadline := time.Now().Add(5 * time.Second)
		for findRecord(t, logged.String(), "ERROR", tc.want) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if findRecord(t, logged.String(), "ERROR", tc.want) == nil {
			t.Errorf("GET %s: the node's log lacks an ERROR record %q of node v0; it has:\n%s", tc.path, tc.want, logged.String())
		}
	}
	// The readiness watcher polls every 100 ms: give it the time to see it.
	for deadline := time.Now().Add(5 * time.Second); findRecord(t, logged.String(), "INFO", "ready for clients") == nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Errorf("serve: %v", err)
	}
	done <- nil
	for _, msg := range []string{"started", "ready for clients", "shutting down", "stopped"} {
		if findRecord(t, logged.String(), "INFO", msg) == nil {
			t.Errorf("the log lacks the INFO record %q; it has:\n%s", msg, logged.String())
		}
	}
}

// findRecord parses a JSON log (every line must be a JSON object with time,
// level, msg and node) and returns the first record of level whose message
// contains msg.
func findRecord(t *testing.T, log, level, msg string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		for _, k := range []string{"time", "level", "msg", "node"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("log record without %q: %s", k, line)
			}
		}
		if r["level"] == level && strings.Contains(r["msg"].(string), msg) {
			return r
		}
	}
	return nil
}

// waitServing waits for an in-process validator to be ready.
func waitServing(t *testing.T, base string, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready; log:\n%s", base, log)
}
