package testkit

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test after timeout. The
// timeout only catches a hang; nothing asserts on timing. The poll interval
// starts at a millisecond and doubles to 50 ms, so fast conditions cost little.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for d := time.Millisecond; !cond(); d = min(2*d, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(d)
	}
}
