package hotstuff

import "fmt"

// EncodeMessage returns m's wire form: version u8 | type u8 | body.
//
//	Proposal:     block | has TC u8 | TC
//	Vote:         view u64 | block hash [32] | voter u16 | signature [64]
//	Timeout:      view u64 | sender u16 | high QC | has TC u8 | TC | signature [64]
//	SyncRequest:  hash [32] | count max u16
//	SyncResponse: block count u16 | blocks | has QC u8 | QC
//	RangeRequest: from height u64 | count max u16
func EncodeMessage(m Message) []byte {
	e := encoder{buf: make([]byte, 0, 256)}
	e.u8(codecVersion)
	e.u8(uint8(m.msgType()))
	switch m := m.(type) {
	case *Proposal:
		e.block(m.Block)
		e.optTC(m.TC)
	case *Vote:
		e.u64(m.View)
		e.bytes(m.BlockHash[:])
		e.u16(uint16(m.Voter))
		e.bytes(m.Signature[:])
	case *Timeout:
		e.u64(m.View)
		e.u16(uint16(m.Sender))
		e.qc(&m.HighQC)
		e.optTC(m.LastTC)
		e.bytes(m.Signature[:])
	case *SyncRequest:
		e.bytes(m.Hash[:])
		e.u16(m.CountMax)
	case *SyncResponse:
		encodeSyncResponse(&e, m)
	case *RangeRequest:
		e.u64(m.FromHeight)
		e.u16(m.CountMax)
	default:
		panic(fmt.Sprintf("hotstuff: encoding unknown message %T", m))
	}
	return e.buf
}

func encodeSyncResponse(e *encoder, m *SyncResponse) {
	if len(m.Blocks) > SyncBlocksMax {
		panic("hotstuff: sync response over SyncBlocksMax")
	}
	e.u16(uint16(len(m.Blocks)))
	for _, b := range m.Blocks {
		e.block(b)
	}
	e.bool(m.HighQC != nil)
	if m.HighQC != nil {
		e.qc(m.HighQC)
	}
}

// DecodeMessage strictly decodes one message. Errors wrap ErrMalformed.
func DecodeMessage(buf []byte) (Message, error) {
	if len(buf) > MessageBytesMax {
		return nil, fmt.Errorf("%w: message of %d bytes exceeds %d", ErrMalformed, len(buf), MessageBytesMax)
	}
	d := decoder{buf: buf}
	if v := d.u8(); v != codecVersion && d.err == nil {
		d.fail("message version %d", v)
	}
	var m Message
	switch t := msgType(d.u8()); t {
	case typeProposal:
		m = &Proposal{Block: d.block(), TC: d.optTC()}
	case typeVote:
		m = &Vote{View: d.u64(), BlockHash: d.hash(), Voter: ValidatorIndex(d.u16()), Signature: d.sig()}
	case typeTimeout:
		m = &Timeout{View: d.u64(), Sender: ValidatorIndex(d.u16()), HighQC: d.qc(), LastTC: d.optTC(), Signature: d.sig()}
	case typeSyncRequest:
		m = &SyncRequest{Hash: d.hash(), CountMax: d.u16()}
	case typeSyncResponse:
		m = decodeSyncResponse(&d)
	case typeRangeRequest:
		m = &RangeRequest{FromHeight: d.u64(), CountMax: d.u16()}
	default:
		d.fail("message type %d", t)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return m, nil
}

func decodeSyncResponse(d *decoder) *SyncResponse {
	n := int(d.u16())
	if n > SyncBlocksMax {
		d.fail("sync response of %d blocks exceeds %d", n, SyncBlocksMax)
		return nil
	}
	m := &SyncResponse{}
	for i := 0; i < n && d.err == nil; i++ {
		m.Blocks = append(m.Blocks, d.block())
	}
	if d.bool() {
		q := d.qc()
		m.HighQC = &q
	}
	return m
}
