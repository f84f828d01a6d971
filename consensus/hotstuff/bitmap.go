package hotstuff

import "math/bits"

// Bitmap marks signers by validator index: bit i of byte i/8 (least significant bit
// first). Its canonical form has no trailing zero byte, so every set of signers has
// exactly one encoding.
type Bitmap []byte

// Has reports whether index i is set.
func (b Bitmap) Has(i ValidatorIndex) bool {
	n := int(i) / 8
	return n < len(b) && b[n]&(1<<(i%8)) != 0
}

// With returns a copy of b with index i set.
func (b Bitmap) With(i ValidatorIndex) Bitmap {
	n := int(i)/8 + 1
	out := make(Bitmap, max(len(b), n))
	copy(out, b)
	out[i/8] |= 1 << (i % 8)
	return out
}

// Count returns the number of set bits.
func (b Bitmap) Count() int {
	c := 0
	for _, x := range b {
		c += bits.OnesCount8(x)
	}
	return c
}

// Indices returns the set indices in ascending order.
func (b Bitmap) Indices() []ValidatorIndex {
	out := make([]ValidatorIndex, 0, b.Count())
	for i, x := range b {
		for x != 0 {
			j := bits.TrailingZeros8(x)
			out = append(out, ValidatorIndex(i*8+j))
			x &= x - 1
		}
	}
	return out
}

// canonical reports whether b has no trailing zero byte.
func (b Bitmap) canonical() bool { return len(b) == 0 || b[len(b)-1] != 0 }
