package hotstuff

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Wire format (docs/consensus.md has the full table). All integers are big-endian
// and fixed width; variable-length fields are prefixed by their length; booleans
// are one byte, 0 or 1. Decoding is strict: any trailing byte, out-of-range length,
// non-canonical bitmap or unknown type is ErrMalformed, so decode→encode reproduces
// the input byte for byte.
const (
	// codecVersion leads every encoded message and block.
	codecVersion = 1
	// PayloadBytesMax bounds a block payload on the wire (Config may lower it).
	PayloadBytesMax = 8 << 20
	// ValidatorsMax bounds the validator set, hence bitmaps (128 bytes).
	ValidatorsMax = 1024
	// SyncBlocksMax bounds the blocks of one SyncResponse.
	SyncBlocksMax = 256
	// MessageBytesMax bounds one encoded message.
	MessageBytesMax = 64 << 20
)

type encoder struct{ buf []byte }

func (e *encoder) u8(v uint8)     { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16)   { e.buf = binary.BigEndian.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32)   { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64)   { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }
func (e *encoder) bytes(b []byte) { e.buf = append(e.buf, b...) }
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf) {
		d.fail("truncated: need %d bytes, have %d", n, len(d.buf))
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) bool() bool {
	switch v := d.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("boolean byte %d", v)
		return false
	}
}

func (d *decoder) hash() (h Hash) {
	copy(h[:], d.take(len(h)))
	return h
}

func (d *decoder) sig() (s Signature) {
	copy(s[:], d.take(len(s)))
	return s
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	return d.err
}

// Bitmap: u8 length (≤ ValidatorsMax/8), then the bytes, canonical.
func (e *encoder) bitmap(b Bitmap) {
	if !b.canonical() || len(b) > ValidatorsMax/8 {
		panic("hotstuff: encoding a non-canonical bitmap")
	}
	e.u8(uint8(len(b)))
	e.bytes(b)
}

func (d *decoder) bitmap() Bitmap {
	n := int(d.u8())
	if n > ValidatorsMax/8 {
		d.fail("bitmap of %d bytes", n)
		return nil
	}
	b := Bitmap(append([]byte(nil), d.take(n)...))
	if d.err == nil && !b.canonical() {
		d.fail("bitmap has a trailing zero byte")
	}
	if n == 0 {
		return nil
	}
	return b
}

// QC: view u64 | block hash [32] | bitmap | signature [64] per set bit.
func (e *encoder) qc(q *QC) {
	if len(q.Sigs) != q.Signers.Count() {
		panic("hotstuff: QC signature count differs from its bitmap")
	}
	e.u64(q.View)
	e.bytes(q.BlockHash[:])
	e.bitmap(q.Signers)
	for i := range q.Sigs {
		e.bytes(q.Sigs[i][:])
	}
}

func (d *decoder) qc() QC {
	q := QC{View: d.u64(), BlockHash: d.hash(), Signers: d.bitmap()}
	n := q.Signers.Count()
	if n > 0 {
		q.Sigs = make([]Signature, n)
		for i := range q.Sigs {
			q.Sigs[i] = d.sig()
		}
	}
	return q
}

// TC: view u64 | bitmap | (high QC view u64, signature [64]) per set bit | high QC.
func (e *encoder) tc(t *TC) {
	n := t.Signers.Count()
	if len(t.Sigs) != n || len(t.HighQCViews) != n {
		panic("hotstuff: TC entry count differs from its bitmap")
	}
	e.u64(t.View)
	e.bitmap(t.Signers)
	for i := range t.Sigs {
		e.u64(t.HighQCViews[i])
		e.bytes(t.Sigs[i][:])
	}
	e.qc(&t.HighQC)
}

func (d *decoder) tc() *TC {
	t := &TC{View: d.u64(), Signers: d.bitmap()}
	n := t.Signers.Count()
	if n == 0 {
		d.fail("TC without signers")
	}
	t.HighQCViews = make([]uint64, n)
	t.Sigs = make([]Signature, n)
	for i := 0; i < n && d.err == nil; i++ {
		t.HighQCViews[i] = d.u64()
		t.Sigs[i] = d.sig()
	}
	t.HighQC = d.qc()
	return t
}

func (e *encoder) optTC(t *TC) {
	e.bool(t != nil)
	if t != nil {
		e.tc(t)
	}
}

func (d *decoder) optTC() *TC {
	if d.bool() {
		return d.tc()
	}
	return nil
}

// Block body, the stored and sent form without the signature: the common
// fields (blockFields) | payload.
func (e *encoder) blockBody(b *Block) {
	e.blockFields(b)
	e.bytes(b.Payload)
}

// blockFields: version u8 | parent [32] | view u64 | height u64 | proposer u16
// | exec height u64 | exec state hash [32] | QC | payload length u32.
func (e *encoder) blockFields(b *Block) {
	e.u8(codecVersion)
	e.bytes(b.Parent[:])
	e.u64(b.View)
	e.u64(b.Height)
	e.u16(uint16(b.Proposer))
	e.u64(b.ExecHeight)
	e.bytes(b.ExecStateHash[:])
	e.qc(&b.QC)
	e.u32(uint32(len(b.Payload)))
}

// block: body | signature [64].
func (e *encoder) block(b *Block) {
	e.blockBody(b)
	e.bytes(b.Signature[:])
}

// blockFields reads what encoder.blockFields writes (PayloadHash is left
// zero).
func (d *decoder) blockFields() (h Header) {
	if v := d.u8(); v != codecVersion && d.err == nil {
		d.fail("block version %d", v)
	}
	h.Parent, h.View, h.Height = d.hash(), d.u64(), d.u64()
	h.Proposer = ValidatorIndex(d.u16())
	h.ExecHeight = d.u64()
	h.ExecStateHash = d.hash()
	h.QC = d.qc()
	h.PayloadBytes = d.u32()
	return h
}

func (d *decoder) block() *Block {
	h := d.blockFields()
	b := &Block{Parent: h.Parent, View: h.View, Height: h.Height, Proposer: h.Proposer,
		ExecHeight: h.ExecHeight, ExecStateHash: h.ExecStateHash, QC: h.QC}
	n := h.PayloadBytes
	if n > PayloadBytesMax {
		d.fail("payload of %d bytes exceeds %d", n, PayloadBytesMax)
		return b
	}
	if n > 0 {
		b.Payload = append([]byte(nil), d.take(int(n))...)
	}
	b.Signature = d.sig()
	return b
}

// Block header, the preimage of the block hash: the block's fields with the
// payload replaced by its SHA-256, so that a light client checks a certified
// block from a few hundred bytes (docs/consensus.md, "Wire formats"):
// blockFields | payload SHA-256 [32].
func (e *encoder) blockHeader(b *Block) {
	e.blockFields(b)
	ph := sha256.Sum256(b.Payload)
	e.bytes(ph[:])
}

// encodeHeader builds a block's header (Block.HeaderBytes caches it).
func encodeHeader(b *Block) []byte {
	e := encoder{buf: make([]byte, 0, headerBytesMin+len(b.QC.Sigs)*SignatureSize+len(b.QC.Signers))}
	e.blockHeader(b)
	return e.buf
}

// headerBytesMin is a header's size without its QC's bitmap and signatures.
const headerBytesMin = 1 + 32 + 8 + 8 + 2 + 8 + 32 + (8 + 32 + 1) + 4 + 32

// Header is a decoded block header (HeaderBytes): what a light client reads of
// a certified block.
type Header struct {
	Parent        Hash
	View          uint64
	Height        uint64
	Proposer      ValidatorIndex
	ExecHeight    uint64
	ExecStateHash Hash
	QC            QC
	PayloadBytes  uint32
	PayloadHash   Hash
}

// DecodeHeader strictly decodes HeaderBytes' output; the block hash is the
// SHA-256 of buf.
func DecodeHeader(buf []byte) (*Header, error) {
	d := decoder{buf: buf}
	h := d.blockFields()
	h.PayloadHash = d.hash()
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decode block header: %w", err)
	}
	return &h, nil
}

// EncodeQC returns the canonical encoding of a QC (docs/consensus.md).
func EncodeQC(qc *QC) []byte {
	var e encoder
	e.qc(qc)
	return e.buf
}

// DecodeQC strictly decodes EncodeQC's output. It checks the encoding, not the
// signatures (VerifyQC does).
func DecodeQC(buf []byte) (QC, error) {
	d := decoder{buf: buf}
	qc := d.qc()
	if err := d.finish(); err != nil {
		return QC{}, fmt.Errorf("decode QC: %w", err)
	}
	return qc, nil
}

// EncodeBlock returns the canonical encoding of b, signature included (storage form).
func EncodeBlock(b *Block) []byte {
	var e encoder
	e.block(b)
	return e.buf
}

// DecodeBlock strictly decodes EncodeBlock's output.
func DecodeBlock(buf []byte) (*Block, error) {
	d := decoder{buf: buf}
	b := d.block()
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	return b, nil
}
