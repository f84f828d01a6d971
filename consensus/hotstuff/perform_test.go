package hotstuff

import (
	"errors"
	"slices"
	"testing"
)

// recorder is an Effects that logs the order of the calls.
type recorder struct {
	calls      []string
	persistErr error
}

func (r *recorder) Persist(*SafetyState, []*Block) error {
	r.calls = append(r.calls, "persist")
	return r.persistErr
}
func (r *recorder) Send(env Envelope) {
	if _, ok := env.Msg.(*SyncRequest); ok {
		r.calls = append(r.calls, "fetch")
		return
	}
	r.calls = append(r.calls, "send")
}
func (r *recorder) Commit([]*Block) error      { r.calls = append(r.calls, "commit"); return nil }
func (r *recorder) LookupExecuted(uint64)      { r.calls = append(r.calls, "lookup") }
func (r *recorder) NeedPayload(PayloadRequest) { r.calls = append(r.calls, "need-payload") }
func (r *recorder) Evidence(Evidence)          { r.calls = append(r.calls, "evidence") }

// TestPerformOrder: the one order every driver runs — durable state before any
// message, messages and sync requests before execution, then the payload
// request and evidence — and nothing leaves when persisting fails.
func TestPerformOrder(t *testing.T) {
	rd := Ready{
		Safety:      &SafetyState{LastVotedView: 3},
		Blocks:      []*Block{{Height: 1}},
		Messages:    []Envelope{{Broadcast: true, Msg: &Vote{View: 3}}},
		Committed:   []*Block{{Height: 1}},
		Fetches:     []Fetch{{From: 1, Hash: Hash{1}}},
		NeedPayload: &PayloadRequest{View: 4},
		Evidence:    []Evidence{{Kind: EquivocatingProposal}},
	}
	r := &recorder{}
	if err := Perform(&rd, r); err != nil {
		t.Fatal(err)
	}
	want := []string{"persist", "send", "fetch", "commit", "need-payload", "evidence"}
	if !slices.Equal(r.calls, want) {
		t.Fatalf("calls %v, want %v", r.calls, want)
	}
	failing := &recorder{persistErr: errors.New("disk full")}
	if err := Perform(&rd, failing); err == nil || !slices.Equal(failing.calls, []string{"persist"}) {
		t.Fatalf("persist failure: %v, calls %v", err, failing.calls)
	}
}
