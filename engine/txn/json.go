package txn

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"settle/engine/codes"
)

// JSON is the human-readable form of a transaction. Integers travel as decimal
// strings (JSON numbers lose precision beyond 2^53 in many clients); plain JSON
// integers are accepted on input too. Binary fields are lower-case hex.
type JSON struct {
	Type        string `json:"type"`
	ChainID     string `json:"chain_id"`
	Sender      string `json:"sender"`
	Sequence    Uint   `json:"sequence"`
	Fee         Uint   `json:"fee"`
	LastValid   Uint   `json:"last_valid"`
	Memo        string `json:"memo,omitempty"`
	Destination string `json:"destination,omitempty"`
	Asset       string `json:"asset,omitempty"`
	Amount      Uint   `json:"amount,omitempty"`
	// Fields of the other types; which ones a type carries is in typeJSONKeys.
	Limit          *Uint        `json:"limit,omitempty"`
	ReleaseHeight  *Uint        `json:"release_height,omitempty"`
	ExpiryHeight   *Uint        `json:"expiry_height,omitempty"`
	Condition      string       `json:"condition,omitempty"`
	Owner          string       `json:"owner,omitempty"`
	EscrowSequence *Uint        `json:"escrow_sequence,omitempty"`
	Fulfillment    string       `json:"fulfillment,omitempty"`
	Legs           []LegJSON    `json:"legs,omitempty"`
	Quorum         *Uint        `json:"quorum,omitempty"`
	Signers        []SignerJSON `json:"signers,omitempty"`
	RegularKey     string       `json:"regular_key,omitempty"`
	SetFlags       *Uint        `json:"set_flags,omitempty"`
	ClearFlags     *Uint        `json:"clear_flags,omitempty"`
	Holder         string       `json:"holder,omitempty"`
	PerTxMax       *Uint        `json:"per_tx_max,omitempty"`
	WindowMax      *Uint        `json:"window_max,omitempty"`
	WindowBlocks   *Uint        `json:"window_blocks,omitempty"`
	Priority       string       `json:"priority,omitempty"` // "urgent" or "normal"
	QueueUntil     *Uint        `json:"queue_until,omitempty"`
	QueueSequence  *Uint        `json:"queue_sequence,omitempty"`
	Signatures     []SigJSON    `json:"signatures"`
	// Hash is output only; if an input carries it, it must match.
	Hash string `json:"hash,omitempty"`
}

// SigJSON is one signature in JSON.
type SigJSON struct {
	PublicKey string `json:"public_key"`
	Signature string `json:"signature"`
}

// LegJSON is one leg of a multi-leg transaction in JSON.
type LegJSON struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Asset  string `json:"asset"`
	Amount Uint   `json:"amount"`
}

// SignerJSON is one signer-list entry in JSON.
type SignerJSON struct {
	PublicKey string `json:"public_key"`
	Weight    Uint   `json:"weight"`
}

// Uint is a non-negative integer that reads from a JSON string or number and
// writes as a string. It spans the whole uint64 range, as the binary fields do
// (sequence and last valid height may exceed AmountMax; Check bounds fee and
// amount). Negative, fractional and overflowing values fail with the matching code.
type Uint uint64

// MarshalJSON implements json.Marshaler.
func (u Uint) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"%d"`, uint64(u))), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (u *Uint) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := parseDecimal(s, math.MaxUint64)
	if err != nil {
		return err
	}
	*u = Uint(v)
	return nil
}

// ParseUint reads a decimal integer in [0, AmountMax] with no sign, fraction or
// exponent. Errors are *codes.Error (AmountNegative, AmountOverflow, Malformed).
func ParseUint(s string) (uint64, error) { return parseDecimal(s, AmountMax) }

// parseDecimal reads a canonical decimal integer in [0, max].
func parseDecimal(s string, max uint64) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, codes.Errorf(codes.AmountNegative, "value %q is negative", s)
	}
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, codes.Errorf(codes.Malformed, "value %q is not a canonical decimal integer", s)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, codes.Errorf(codes.Malformed, "value %q is not a decimal integer", s)
		}
		if v > (max-uint64(c-'0'))/10 {
			return 0, codes.Errorf(codes.AmountOverflow, "value %s exceeds the maximum %d", s, max)
		}
		v = v*10 + uint64(c-'0')
	}
	return v, nil
}

// ToJSON renders tx in its JSON form.
func ToJSON(tx *Tx) JSON {
	j := JSON{
		Type:      tx.Type.String(),
		ChainID:   tx.ChainID,
		Sender:    tx.Sender.String(),
		Sequence:  Uint(tx.Seq),
		Fee:       Uint(tx.Fee),
		LastValid: Uint(tx.LastValid),
		Memo:      hex.EncodeToString(tx.Memo),
		Hash:      tx.Hash().String(),
	}
	typeToJSON(tx, &j)
	for _, s := range tx.Sigs {
		j.Signatures = append(j.Signatures, SigJSON{
			PublicKey: hex.EncodeToString(s.PublicKey[:]),
			Signature: hex.EncodeToString(s.Signature[:]),
		})
	}
	return j
}

// ParseJSON reads a signed transaction in JSON form, strictly: unknown fields,
// trailing data and every stateless rule are checked. The result is sealed (Bytes
// and Hash are the canonical binary encoding's). Errors are *codes.Error.
func ParseJSON(b []byte) (*Tx, error) {
	if len(b) > 4*TxBytesMax {
		return nil, codes.Errorf(codes.BodyTooLarge, "JSON transaction is %d bytes, limit %d", len(b), 4*TxBytesMax)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j JSON
	if err := dec.Decode(&j); err != nil {
		return nil, jsonError(err)
	}
	// dec.More is not enough: it reports false before a stray '}' or ']'.
	if _, err := dec.Token(); err != io.EOF {
		return nil, codes.Errorf(codes.Malformed, "trailing data after the JSON object")
	}
	if err := exactKeys(b, typeJSONKeys[j.Type]); err != nil {
		return nil, err
	}
	return FromJSON(&j)
}

// Field names of the JSON form. encoding/json matches names case-insensitively
// and lets a repeated name overwrite the earlier one; exactKeys closes both gaps
// so that every parser reads a Settle JSON transaction the same way.
var (
	txJSONKeys     = jsonKeys(reflect.TypeFor[JSON]())
	sigJSONKeys    = jsonKeys(reflect.TypeFor[SigJSON]())
	legJSONKeys    = jsonKeys(reflect.TypeFor[LegJSON]())
	signerJSONKeys = jsonKeys(reflect.TypeFor[SignerJSON]())
	// nestedJSONKeys are the arrays of objects and their objects' keys.
	nestedJSONKeys = map[string]map[string]bool{"signatures": sigJSONKeys, "legs": legJSONKeys, "signers": signerJSONKeys}
)

func jsonKeys(t reflect.Type) map[string]bool {
	keys := make(map[string]bool, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}

// exactKeys checks, on input that already decoded, that every object key is
// spelled exactly as the schema spells it (else UnknownField), belongs to the
// transaction's type (typeKeys; nil when the type is unknown, which FromJSON
// reports) and appears once (else Malformed).
func exactKeys(b []byte, typeKeys map[string]bool) error {
	known := txJSONKeys
	if typeKeys != nil {
		known = typeKeys
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	return objectKeys(dec, known, func(key string) error {
		inner, nested := nestedJSONKeys[key]
		if !nested {
			return skipValue(dec)
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return skipAfter(dec, t, err)
		}
		for dec.More() {
			if err := objectKeys(dec, inner, func(string) error { return skipValue(dec) }); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	})
}

// objectKeys reads one object from dec, checking its keys against known and
// calling value for each to consume the value.
func objectKeys(dec *json.Decoder, known map[string]bool, value func(key string) error) error {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return skipAfter(dec, t, err)
	}
	seen := make(map[string]bool, len(known))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return codes.Errorf(codes.Malformed, "bad JSON: %v", err)
		}
		key, _ := t.(string)
		if !known[key] {
			return codes.Errorf(codes.UnknownField, "unknown field %q (field names are case-sensitive, and each type has its own)", key)
		}
		if seen[key] {
			return codes.Errorf(codes.Malformed, "field %q appears twice", key)
		}
		seen[key] = true
		if err := value(key); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// skipAfter finishes a value whose first token t was not the expected
// delimiter (null, for instance), after which encoding/json had accepted it.
func skipAfter(dec *json.Decoder, t json.Token, err error) error {
	if err != nil {
		return codes.Errorf(codes.Malformed, "bad JSON: %v", err)
	}
	if d, ok := t.(json.Delim); ok && (d == '{' || d == '[') {
		return skipNested(dec)
	}
	return nil
}

// skipValue consumes one complete value.
func skipValue(dec *json.Decoder) error {
	t, err := dec.Token()
	return skipAfter(dec, t, err)
}

// skipNested consumes the rest of an object or array whose opening delimiter was read.
func skipNested(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return codes.Errorf(codes.Malformed, "bad JSON: %v", err)
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func jsonError(err error) error {
	var ce *codes.Error
	if asCoded(err, &ce) {
		return ce
	}
	msg := err.Error()
	if strings.Contains(msg, "unknown field") {
		return codes.Errorf(codes.UnknownField, "%s", strings.TrimPrefix(msg, "json: "))
	}
	return codes.Errorf(codes.Malformed, "bad JSON: %s", msg)
}

// FromJSON converts the JSON form into a sealed transaction.
func FromJSON(j *JSON) (*Tx, error) {
	tx := &Tx{ChainID: j.ChainID, Seq: uint64(j.Sequence), Fee: uint64(j.Fee), LastValid: uint64(j.LastValid), Amount: uint64(j.Amount)}
	t, ok := TypeFromString(j.Type)
	if !ok {
		return nil, codes.Errorf(codes.UnsupportedType, "transaction type %q is not supported", j.Type)
	}
	tx.Type = t
	var err error
	if tx.Sender, err = ParseAddress(j.Sender); err != nil {
		return nil, codes.Errorf(codes.Malformed, "sender: %v", err)
	}
	if err := typeFromJSON(j, tx); err != nil {
		return nil, err
	}
	if j.Memo != "" {
		if tx.Memo, err = hex.DecodeString(j.Memo); err != nil {
			return nil, codes.Errorf(codes.Malformed, "memo is not hex")
		}
	}
	if len(j.Signatures) > SigCountMax {
		return nil, codes.Errorf(codes.Malformed, "%d signatures, limit %d", len(j.Signatures), SigCountMax)
	}
	for i, s := range j.Signatures {
		var sig Sig
		if err := hexInto(sig.PublicKey[:], s.PublicKey); err != nil {
			return nil, codes.Errorf(codes.Malformed, "signature %d public key: %v", i, err)
		}
		if err := hexInto(sig.Signature[:], s.Signature); err != nil {
			return nil, codes.Errorf(codes.Malformed, "signature %d: %v", i, err)
		}
		tx.Sigs = append(tx.Sigs, sig)
	}
	if err := Check(tx); err != nil {
		return nil, err
	}
	tx.seal()
	if j.Hash != "" && j.Hash != tx.hash.String() {
		return nil, codes.Errorf(codes.Malformed, "hash %s does not match the transaction's %s", j.Hash, tx.hash)
	}
	return tx, nil
}

func hexInto(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("want %d hex characters, got %d", 2*len(dst), len(s))
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}
