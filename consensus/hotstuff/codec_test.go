package hotstuff

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
)

func sampleQC(view uint64) QC {
	q := QC{View: view, BlockHash: Hash{1, 2, 3}}
	for _, i := range []ValidatorIndex{0, 2, 3} {
		q.Signers = q.Signers.With(i)
		q.Sigs = append(q.Sigs, Signature{byte(i), 9})
	}
	return q
}

func sampleMessages() []Message {
	tc := &TC{View: 4, HighQC: sampleQC(3)}
	for _, i := range []ValidatorIndex{1, 2, 3} {
		tc.Signers = tc.Signers.With(i)
		tc.HighQCViews = append(tc.HighQCViews, 3)
		tc.Sigs = append(tc.Sigs, Signature{7, byte(i)})
	}
	b := &Block{Parent: Hash{1, 2, 3}, View: 5, Height: 4, QC: sampleQC(3), Proposer: 1,
		Payload: []byte("payload"), ExecHeight: 2, ExecStateHash: Hash{9}, Signature: Signature{4}}
	return []Message{
		&Proposal{Block: b, TC: tc},
		&Proposal{Block: &Block{Height: 1, View: 1, QC: QC{}}},
		&Vote{View: 5, BlockHash: Hash{8}, Voter: 2, Signature: Signature{1}},
		&Timeout{View: 5, Sender: 3, HighQC: sampleQC(3), LastTC: tc, Signature: Signature{2}},
		&SyncRequest{Hash: Hash{5}, CountMax: 64},
		&SyncResponse{Blocks: []*Block{b, b}, HighQC: &QC{View: 0}},
	}
}

// TestMessageRoundTrip: decode(encode(m)) re-encodes to the same bytes.
func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		enc := EncodeMessage(m)
		got, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if again := EncodeMessage(got); !bytes.Equal(enc, again) {
			t.Fatalf("%T: round trip differs", m)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := EncodeMessage(sampleMessages()[2])
	cases := map[string][]byte{
		"empty":       nil,
		"version":     append([]byte{9}, valid[1:]...),
		"type":        {codecVersion, 77},
		"truncated":   valid[:len(valid)-1],
		"trailing":    append(append([]byte(nil), valid...), 0),
		"bad bool":    {codecVersion, byte(typeSyncResponse), 0, 0, 2},
		"zero bitmap": {codecVersion, byte(typeTimeout), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0},
	}
	for name, in := range cases {
		if _, err := DecodeMessage(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestSafetyStateRoundTrip(t *testing.T) {
	s := &SafetyState{LastVotedView: 7, LastTimeoutView: 6, HighQC: sampleQC(5)}
	tc := sampleMessages()[0].(*Proposal).TC
	s.HighTC = tc
	enc := EncodeSafetyState(s)
	got, err := DecodeSafetyState(enc)
	if err != nil || !bytes.Equal(EncodeSafetyState(got), enc) {
		t.Fatalf("round trip: %v", err)
	}
}

// FuzzDecodeMessage: strict decoding never panics, and whatever decodes re-encodes
// byte for byte (the encoding is canonical).
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(EncodeMessage(m))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeMessage(in)
		if err != nil {
			return
		}
		if out := EncodeMessage(m); !bytes.Equal(in, out) {
			t.Fatalf("decode→encode differs:\n in %x\nout %x", in, out)
		}
	})
}

// FuzzDecodeBlock: the same property for stored blocks.
func FuzzDecodeBlock(f *testing.F) {
	f.Add(EncodeBlock(sampleMessages()[0].(*Proposal).Block))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeBlock(in)
		if err != nil {
			return
		}
		if out := EncodeBlock(b); !bytes.Equal(in, out) {
			t.Fatalf("decode→encode differs")
		}
	})
}

// TestHeaderBytes: the block hash is the SHA-256 of the header, which carries
// the payload's digest instead of the payload, and DecodeHeader reads back
// every field a light client checks.
func TestHeaderBytes(t *testing.T) {
	qc := QC{View: 6, BlockHash: Hash{3}, Signers: Bitmap(nil).With(0).With(2).With(3), Sigs: []Signature{{1}, {2}, {3}}}
	b := &Block{Parent: Hash{1}, View: 7, Height: 5, QC: qc, Proposer: 3,
		Payload: []byte("payload"), ExecHeight: 2, ExecStateHash: Hash{9}, Signature: Signature{4}}
	hb := b.HeaderBytes()
	if sha256.Sum256(hb) != b.Hash() {
		t.Fatal("block hash is not the SHA-256 of its header")
	}
	h, err := DecodeHeader(hb)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Parent: b.Parent, View: 7, Height: 5, Proposer: 3, ExecHeight: 2, ExecStateHash: Hash{9},
		QC: qc, PayloadBytes: 7, PayloadHash: sha256.Sum256([]byte("payload"))}
	if !reflect.DeepEqual(*h, want) {
		t.Fatalf("decoded header %+v, want %+v", *h, want)
	}
	if _, err := DecodeHeader(append(hb, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: %v", err)
	}
	other := *b
	other.hashSet, other.header = false, nil
	other.Payload = []byte("payloaD")
	if other.Hash() == b.Hash() {
		t.Fatal("the header does not bind the payload")
	}
	if q, err := DecodeQC(EncodeQC(&qc)); err != nil || !reflect.DeepEqual(q, qc) {
		t.Fatalf("QC round trip: %v %+v", err, q)
	}
}
