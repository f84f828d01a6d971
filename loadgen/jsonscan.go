package loadgen

import "strings"

// A minimal JSON scanner for the two hot answers: block events (every committed
// hash) and batch answers. encoding/json spends most of the generator's CPU on
// them at tens of thousands of tx/s. The scanner accepts any key order and
// whitespace; anything unexpected makes it give up, and the caller falls back to
// encoding/json, so it is an optimisation, never a second definition of the format.

type scanner struct {
	b   []byte
	off int
}

func (s *scanner) ws() {
	for s.off < len(s.b) {
		switch s.b[s.off] {
		case ' ', '\t', '\n', '\r':
			s.off++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.off < len(s.b) {
		return s.b[s.off]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.off++
		return true
	}
	return false
}

// str reads a plain ASCII string without escapes and returns its bytes (a
// sub-slice); anything else gives up.
func (s *scanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.off
	for s.off < len(s.b) {
		switch c := s.b[s.off]; {
		case c == '"':
			s.off++
			return s.b[start : s.off-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		s.off++
	}
	return nil, false
}

// uint reads a non-negative integer of at most 18 digits, without leading zeros.
func (s *scanner) uint() (uint64, bool) {
	s.ws()
	start := s.off
	var v uint64
	for s.off < len(s.b) && isDigit(s.b[s.off]) {
		if s.off-start == 18 || (s.off > start && s.b[start] == '0') {
			return 0, false
		}
		v = v*10 + uint64(s.b[s.off]-'0')
		s.off++
	}
	return v, s.off > start
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipDepthMax bounds the nesting the scanner follows (the stack, too).
const skipDepthMax = 32

// skip passes over one well-formed value of any kind.
func (s *scanner) skip() bool { return s.skipAt(0) }

func (s *scanner) skipAt(depth int) bool {
	if depth > skipDepthMax {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		return s.skipString()
	case c == '{':
		return s.object(func([]byte) bool { return s.skipAt(depth + 1) })
	case c == '[':
		return s.array(func() bool { return s.skipAt(depth + 1) })
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		return s.number()
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.off < len(lit) || string(s.b[s.off:s.off+len(lit)]) != lit {
		return false
	}
	s.off += len(lit)
	return true
}

// skipString passes over a string, checking its escapes. Non-ASCII bytes give up
// (encoding/json would replace invalid UTF-8, and the scanner never needs them).
func (s *scanner) skipString() bool {
	s.off++ // opening quote
	for s.off < len(s.b) {
		c := s.b[s.off]
		switch {
		case c == '"':
			s.off++
			return true
		case c < 0x20 || c >= 0x80:
			return false
		case c == '\\':
			if s.off+1 >= len(s.b) {
				return false
			}
			switch s.b[s.off+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.off += 2
				continue
			case 'u':
				if len(s.b)-s.off < 6 || !isHex4(s.b[s.off+2:s.off+6]) {
					return false
				}
				s.off += 6
				continue
			}
			return false
		}
		s.off++
	}
	return false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') {
			return false
		}
	}
	return true
}

// number passes over -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.off < len(s.b) && s.b[s.off] == '-' {
		s.off++
	}
	if s.off >= len(s.b) || !isDigit(s.b[s.off]) {
		return false
	}
	if s.b[s.off] == '0' {
		s.off++
	} else {
		s.digits()
	}
	if s.off < len(s.b) && s.b[s.off] == '.' {
		s.off++
		if s.digits() == 0 {
			return false
		}
	}
	if s.off < len(s.b) && (s.b[s.off] == 'e' || s.b[s.off] == 'E') {
		s.off++
		if s.off < len(s.b) && (s.b[s.off] == '+' || s.b[s.off] == '-') {
			s.off++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	start := s.off
	for s.off < len(s.b) && isDigit(s.b[s.off]) {
		s.off++
	}
	return s.off - start
}

// atEnd reports whether only white space is left.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.off == len(s.b)
}

// known matches key against the names the caller reads. encoding/json matches
// names case-insensitively: a key that differs from a name only in case gives up,
// so the fast path never disagrees with the reference decoder.
func known(key []byte, names ...string) (string, bool) {
	for _, n := range names {
		if string(key) == n {
			return n, true
		}
		if strings.EqualFold(string(key), n) {
			return "", false
		}
	}
	return "", true
}

// object calls field for each key of an object; field must consume the value.
func (s *scanner) object(field func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.eat(':') || !field(key) {
			return false
		}
		if s.eat('}') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

// array calls elem for each element; elem must consume it.
func (s *scanner) array(elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.eat(']') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

// scanBlock reads a block event's height and its transactions' hashes and results,
// calling tx for each. It reports false when the fast path cannot read the input.
func scanBlock(data []byte, height *uint64, tx func(hash, result []byte)) bool {
	s := scanner{b: data}
	sawTxs := false
	ok := s.object(func(key []byte) bool {
		name, ok := known(key, "height", "txs")
		switch {
		case !ok:
			return false
		case name == "height":
			*height, ok = s.uint()
			return ok
		case name == "txs" && !sawTxs:
			sawTxs = true
			return s.array(func() bool { return scanTx(&s, tx) })
		case name == "txs":
			return false // a repeated key: encoding/json would keep only the last
		}
		return s.skip()
	})
	return ok && s.atEnd()
}

func scanTx(s *scanner, tx func(hash, result []byte)) bool {
	var hash, result []byte
	ok := s.object(func(key []byte) bool {
		name, ok := known(key, "hash", "result")
		switch {
		case !ok:
			return false
		case name == "hash":
			hash, ok = s.str()
		case name == "result":
			result, ok = s.str()
		default:
			ok = s.skip()
		}
		return ok
	})
	if ok {
		tx(hash, result)
	}
	return ok
}

// scanAllAccepted reports whether a batch answer says that all n transactions were
// accepted ("accepted": n, "rejected": 0), reading only the top-level counters.
func scanAllAccepted(data []byte, n int) bool {
	s := scanner{b: data}
	accepted, rejected := -1, -1
	ok := s.object(func(key []byte) bool {
		name, ok := known(key, "accepted", "rejected")
		if !ok {
			return false
		}
		switch name {
		case "accepted", "rejected":
			v, ok := s.uint()
			if name == "accepted" {
				accepted = int(v)
			} else {
				rejected = int(v)
			}
			return ok
		}
		return s.skip()
	})
	return ok && s.atEnd() && accepted == n && rejected == 0
}
