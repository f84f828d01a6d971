package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"

	"settle/engine/ledger"
	"settle/engine/txn"
	"settle/mempool"
)

// Bounds of the config file's settings (docs/operations.md has the table; a test
// holds the two together). Zero means "the default" for every optional number;
// anything else outside its range is refused, so a typo cannot start a validator
// that misbehaves later.
const (
	// A block's payload is one txn batch, which holds at most BatchTxMax.
	BlockTxMaxLimit = txn.BatchTxMax
	// A block must hold the largest transaction the mempool admits (the
	// assembler refuses less) ...
	blockBytesMaxMin = 64 << 10
	// ... and fit the payload a HotStuff proposal carries
	// (consensus/hotstuff DefaultConfig().PayloadBytesMax; a test in
	// consensus/cluster checks it).
	BlockBytesMaxLimit = 4 << 20
	blockDelayMsLimit  = 10_000
	// The mempool holds at least one sender's quota (AccountTxMax); beyond a
	// million entries its 64 MiB byte bound binds first anyway.
	mempoolTxMaxLimit  = 1_000_000
	verifyWorkersLimit = 1024

	nodeIDLenMax           = 64
	adminTokenLenMin       = 16
	adminTokenLenMax       = 256
	tickMsLimit            = 1000
	viewTimeoutTicksLimit  = 100_000
	emptyBlockDelayMsLimit = 60_000
	gossipIntervalMsLimit  = 1000
	gossipBufferTxMaxLimit = 1_000_000
	proofHeightsKeptLimit  = 100_000
)

// intRange is one integer setting and its range; 0 (absent) takes the default.
type intRange struct {
	field    string // the JSON name, with its section: "cluster.tick_ms"
	v        int
	min, max int
}

// intRanges lists the file's optional integer settings with their ranges.
func (fc *FileConfig) intRanges() []intRange {
	r := []intRange{
		{"block_tx_max", fc.BlockTxMax, 1, BlockTxMaxLimit},
		{"block_bytes_max", fc.BlockBytesMax, blockBytesMaxMin, BlockBytesMaxLimit},
		{"block_delay_ms", fc.BlockDelayMs, 1, blockDelayMsLimit},
		{"mempool_tx_max", fc.MempoolTxMax, mempool.DefaultConfig().AccountTxMax, mempoolTxMaxLimit},
		{"verify_workers", fc.VerifyWorkers, 1, verifyWorkersLimit},
		{"proof_heights_kept", fc.ProofHeightsKept, 1, proofHeightsKeptLimit},
	}
	if c := fc.Cluster; c != nil {
		r = append(r,
			intRange{"cluster.tick_ms", c.TickMs, 1, tickMsLimit},
			intRange{"cluster.view_timeout_ticks", c.ViewTimeoutTicks, 1, viewTimeoutTicksLimit},
			intRange{"cluster.view_timeout_ticks_max", c.ViewTimeoutTicksMax, 1, viewTimeoutTicksLimit},
			intRange{"cluster.empty_block_delay_ms", c.EmptyBlockDelayMs, 1, emptyBlockDelayMsLimit},
			intRange{"cluster.gossip_interval_ms", c.GossipIntervalMs, 1, gossipIntervalMsLimit},
			intRange{"cluster.gossip_frame_tx_max", c.GossipFrameTxMax, 1, txn.BatchTxMax},
			intRange{"cluster.gossip_buffer_tx_max", c.GossipBufferTxMax, 1, gossipBufferTxMaxLimit},
		)
	}
	return r
}

// check reports the first setting that is missing or out of range, in a
// sentence naming the field. Settings that need the genesis are checkGenesis's.
func (fc *FileConfig) check() error {
	for _, r := range fc.intRanges() {
		if r.v != 0 && (r.v < r.min || r.v > r.max) {
			return fmt.Errorf("%s must be %d to %d, not %d", r.field, r.min, r.max, r.v)
		}
	}
	switch {
	case fc.NodeID != "" && !validNodeID(fc.NodeID):
		return fmt.Errorf("node_id %q must be 1 to %d letters, digits, '.', '_' or '-', not starting with '.' (it names files)", fc.NodeID, nodeIDLenMax)
	case fc.DataDir == "":
		return errors.New("data_dir is required (the Pebble directory, relative to the config file)")
	case fc.GenesisFile == "":
		return errors.New("genesis_file is required (relative to the config file)")
	case fc.AdminToken != "" && (len(fc.AdminToken) < adminTokenLenMin || len(fc.AdminToken) > adminTokenLenMax):
		return fmt.Errorf("admin_token must be %d to %d characters (settled init writes 32 random hex digits), not %d; leave it out to disable the operator endpoints",
			adminTokenLenMin, adminTokenLenMax, len(fc.AdminToken))
	}
	if err := checkAddr("api_addr", fc.APIAddr); err != nil {
		return err
	}
	if c := fc.Cluster; c != nil {
		if c.KeyFile == "" {
			return errors.New("cluster.key_file is required (the validator key, mode 0600)")
		}
		if c.ListenAddr != "" {
			if err := checkAddr("cluster.listen_addr", c.ListenAddr); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkGenesis checks the settings that depend on the genesis: a cluster needs a
// "cluster" section whose index names one of its validators, a single validator
// none.
func (fc *FileConfig) checkGenesis(g *ledger.Genesis) error {
	n := len(g.Validators)
	switch c := fc.Cluster; {
	case n == 1 && c != nil:
		return errors.New("the genesis names one validator, so the \"cluster\" section does not apply: remove it, or name the cluster's genesis")
	case n > 1 && c == nil:
		return fmt.Errorf("the genesis names %d validators: the config needs a \"cluster\" section", n)
	case c != nil && (c.Index < 0 || c.Index >= n):
		return fmt.Errorf("cluster.index must be 0 to %d (the genesis names %d validators), not %d", n-1, n, c.Index)
	}
	return nil
}

func validNodeID(s string) bool {
	if len(s) > nodeIDLenMax || s[0] == '.' {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// checkAddr requires host:port with a numeric port (an empty host listens on
// every interface).
func checkAddr(field, addr string) error {
	if addr == "" {
		return fmt.Errorf("%s is required (host:port)", field)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q is not host:port", field, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%s %q: the port must be a number 0 to 65535", field, addr)
	}
	return nil
}

// decodeFileConfig parses a config file strictly: an unknown field (a typo) or
// trailing data is an error, and errors name the field or the line.
func decodeFileConfig(b []byte) (FileConfig, error) {
	var fc FileConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fc, explainJSON(b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fc, fmt.Errorf("line %d: more data after the configuration object", lineAt(b, dec.InputOffset()))
	}
	return fc, nil
}

// explainJSON turns a decoding error into a sentence about the file.
func explainJSON(b []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("line %d: not valid JSON: %v", lineAt(b, syn.Offset), syn)
	case errors.As(err, &typ):
		return fmt.Errorf("%s must be %s, not %s", typ.Field, jsonKind(typ.Type), article(typ.Value))
	case errors.Is(err, io.EOF):
		return errors.New("the file is empty")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return unknownField(b, strings.Trim(name, `"`))
	}
	return err
}

// unknownField names the section holding an unknown field and the known field
// it most resembles.
func unknownField(b []byte, name string) error {
	section, known := "", jsonFields(reflect.TypeFor[FileConfig]())
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) == nil {
		if _, ok := top[name]; !ok {
			for k, v := range top {
				var sub map[string]json.RawMessage
				if _, isSection := sectionType(k); isSection && json.Unmarshal(v, &sub) == nil && sub[name] != nil {
					section = k
				}
			}
		}
	}
	msg := fmt.Sprintf("unknown field %q", name)
	if section != "" {
		t, _ := sectionType(section)
		known = jsonFields(t)
		msg += fmt.Sprintf(" in the %q section", section)
	}
	if near := nearest(name, known); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return errors.New(msg)
}

// sectionType returns the struct type of FileConfig's object-valued field name.
func sectionType(name string) (reflect.Type, bool) {
	t := reflect.TypeFor[FileConfig]()
	for i := range t.NumField() {
		f := t.Field(i)
		if tagName(f) != name {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		return ft, ft.Kind() == reflect.Struct
	}
	return nil, false
}

// jsonFields lists a struct's JSON field names.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := tagName(t.Field(i)); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	return names
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// nearest returns the known name within two edits of name, if any.
func nearest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short ASCII strings.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Pointer, reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return t.String()
}

// article names a value from UnmarshalTypeError ("string", "number", "number
// 1e99", "bool", "array", "object") for a sentence.
func article(v string) string {
	switch {
	case strings.HasPrefix(v, "number "):
		return strings.TrimPrefix(v, "number ")
	case v == "bool":
		return "true or false"
	case v == "array" || v == "object":
		return "an " + v
	}
	return "a " + v
}

// lineAt is the 1-based line of byte offset off in b.
func lineAt(b []byte, off int64) int {
	off = min(max(off, 0), int64(len(b)))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}
