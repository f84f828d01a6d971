package api

import (
	"bytes"
	"testing"
	"time"

	"settle/engine/codes"
)

// TestPprof checks the operator's profiles: bad parameters are refused at
// once in JSON (seconds=-1 used to mean 30 s), and a second timed profile
// while one runs is 503 overloaded in JSON (it used to be a plain-text 500).
func TestPprof(t *testing.T) {
	ts := startServer(t, Config{ProfileSecondsMax: 5}, nil)
	auth := map[string]string{"Authorization": "Bearer " + adminToken}
	get := func(path string) (answer, time.Duration) {
		t.Helper()
		start := time.Now()
		a := ts.do(t, "GET", path, nil, auth)
		return a, time.Since(start)
	}
	for _, tc := range []struct {
		path   string
		status int
		code   codes.Code
	}{
		{"/debug/pprof/profile?seconds=-1", 400, codes.BadRequest},
		{"/debug/pprof/profile?seconds=0", 400, codes.BadRequest},
		{"/debug/pprof/profile?seconds=1.5", 400, codes.BadRequest},
		{"/debug/pprof/profile?seconds=abc", 400, codes.BadRequest},
		{"/debug/pprof/profile?seconds=6", 400, codes.BadRequest}, // over ProfileSecondsMax
		{"/debug/pprof/trace?seconds=-3", 400, codes.BadRequest},
		{"/debug/pprof/heap?seconds=0", 400, codes.BadRequest},
		{"/debug/pprof/heap?debug=x", 400, codes.BadRequest},
		{"/debug/pprof/goroutine?debug=9", 400, codes.BadRequest},
		{"/debug/pprof/heap?gc=-1", 400, codes.BadRequest},
		{"/debug/pprof/nope", 404, codes.NotFound},
		{"/debug/pprof/heap/x", 404, codes.NotFound},
	} {
		a, took := get(tc.path)
		checkError(t, a, tc.status, tc.code)
		if took > time.Second {
			t.Errorf("%s answered after %v", tc.path, took)
		}
	}
	if a := ts.do(t, "GET", "/debug/pprof/profile?seconds=1", nil, nil); a.status != 401 {
		t.Errorf("profile without the token: %d", a.status)
	}

	// One timed profile at a time; the others are refused while it runs.
	done := make(chan answer, 1)
	start := time.Now()
	go func() { a, _ := get("/debug/pprof/profile?seconds=1"); done <- a }()
	if !waitFor(time.Second, func() bool {
		if ts.s.profiling.TryLock() {
			ts.s.profiling.Unlock()
			return false
		}
		return true
	}) {
		t.Fatal("the CPU profile did not start")
	}
	for _, path := range []string{"/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=1", "/debug/pprof/allocs?seconds=1"} {
		a, took := get(path)
		checkError(t, a, 503, codes.Overloaded)
		if a.header.Get("Retry-After") == "" || took > time.Second {
			t.Errorf("%s while a profile runs: Retry-After %q, answered after %v", path, a.header.Get("Retry-After"), took)
		}
	}
	a := <-done
	took := time.Since(start)
	if a.status != 200 || !bytes.HasPrefix(a.body, []byte{0x1f, 0x8b}) { // a gzipped pprof protobuf
		t.Fatalf("CPU profile: %d %.100q", a.status, a.body)
	}
	if took < time.Second || took > 3*time.Second {
		t.Errorf("a 1 s CPU profile took %v", took)
	}
	if n := ts.metricValue(t, `settle_api_limit_refusals_total{limit="profiles_at_once"}`); n != 3 {
		t.Errorf("refusals counted: %v, want 3", n)
	}
	t.Logf("1 s CPU profile: %d bytes in %v; 3 concurrent profiles refused", len(a.body), took.Round(time.Millisecond))

	// The untimed ones pass through to net/http/pprof.
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=2"} {
		if a, _ := get(path); a.status != 200 || len(a.body) == 0 {
			t.Errorf("%s: %d %.100q", path, a.status, a.body)
		}
	}
}
