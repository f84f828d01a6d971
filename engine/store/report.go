package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"sort"

	"github.com/cockroachdb/pebble/v2"

	"settle/engine/ledger"
	"settle/engine/txn"
)

// Settlement reports (docs/storage.md, "Settlement reports"). Each committed block
// stores, in its own batch, one net-delta record listing every (account, asset)
// that its transfers touched: n/<height u64> → count u32 | count × (account 20 |
// asset 23 | credited u128 | debited u128). A report over a height range is one
// range scan.

// Report bounds.
const (
	ReportBlocksMax    = 1_000_000 // heights in one report
	ReportPositionsMax = 100_000   // (account, asset) rows in one report
)

// ErrReportRange is returned for a height range a report cannot cover.
var ErrReportRange = errors.New("report range")

// ErrReportTooLarge is returned when a report would exceed ReportPositionsMax rows.
var ErrReportTooLarge = errors.New("report too large")

// Position is one account's settlement in one asset over a report's range: what
// its transfers credited and debited. Net = Credited − Debited.
type Position struct {
	Account  txn.AccountID
	Asset    txn.Asset
	Credited *big.Int
	Debited  *big.Int
	// The parts of Credited and Debited that queued transfers settled, by how:
	// released from the queue when funds arrived, or offset by gridlock
	// resolution. The rest settled at once, in its transaction.
	ReleasedCredited, ReleasedDebited *big.Int
	OffsetCredited, OffsetDebited     *big.Int
}

// Net returns Credited − Debited (negative: the account paid out more).
func (p *Position) Net() *big.Int { return new(big.Int).Sub(p.Credited, p.Debited) }

// Report is the net positions of every participant (or one) over [From, To].
type Report struct {
	From, To  uint64
	Positions []Position // sorted by account, then asset
}

const netValueLen = 32

func netPrefix(h uint64) []byte { return binary.BigEndian.AppendUint64([]byte{prefixNet, '/'}, h) }

type u128 struct{ hi, lo uint64 }

func (u *u128) add(v uint64) {
	var c uint64
	u.lo, c = bits.Add64(u.lo, v, 0)
	u.hi += c
}

func (u u128) big() *big.Int {
	b := new(big.Int).SetUint64(u.hi)
	return b.Lsh(b, 64).Or(b, new(big.Int).SetUint64(u.lo))
}

type netKey struct {
	id txn.AccountID
	as txn.Asset
}

type netDelta struct{ credit, debit u128 }

// netDeltas accumulates a block's net delta per (account, asset) of its transfers.
type netDeltas map[netKey]netDelta

func newNetDeltas(txs int) netDeltas { return make(netDeltas, 2*txs) }

func (m netDeltas) add(transfers []ledger.Transfer) {
	for _, t := range transfers {
		from, to := netKey{t.From, t.Asset}, netKey{t.To, t.Asset}
		d := m[from]
		d.debit.add(t.Amount)
		m[from] = d
		d = m[to]
		d.credit.add(t.Amount)
		m[to] = d
	}
}

const netEntryLen = txn.AccountIDSize + 23 + netValueLen

// write sets the block's net deltas as ONE record, n/<height> → u32 count |
// count × (account 20 | asset 23 | credited u128 | debited u128), sorted by
// account then asset. One key per block, not one per (account, asset): Pebble's
// cost per block grows with its key count, and reports read whole ranges anyway.
func (m netDeltas) write(set func(k, v []byte), key []byte) {
	if len(m) == 0 {
		return
	}
	keys := make([]netKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return netKeyLess(&keys[i], &keys[j]) })
	v := make([]byte, 0, 4+len(keys)*netEntryLen)
	v = binary.BigEndian.AppendUint32(v, uint32(len(keys)))
	for i := range keys {
		k := &keys[i]
		d := m[*k]
		ak := ledger.AssetKey(k.as)
		v = append(v, k.id[:]...)
		v = append(v, ak[:]...)
		v = binary.BigEndian.AppendUint64(v, d.credit.hi)
		v = binary.BigEndian.AppendUint64(v, d.credit.lo)
		v = binary.BigEndian.AppendUint64(v, d.debit.hi)
		v = binary.BigEndian.AppendUint64(v, d.debit.lo)
	}
	set(key, v)
}

func netKeyLess(a, b *netKey) bool {
	if c := bytes.Compare(a.id[:], b.id[:]); c != 0 {
		return c < 0
	}
	ka, kb := ledger.AssetKey(a.as), ledger.AssetKey(b.as)
	return bytes.Compare(ka[:], kb[:]) < 0
}

// Report sums the net deltas of blocks from to to (inclusive) per (account,
// asset); with account non-nil, only that account's rows. The range must lie
// within the committed blocks and span at most ReportBlocksMax heights
// (ErrReportRange); a report of more than ReportPositionsMax rows fails with
// ErrReportTooLarge.
func (s *Store) Report(from, to uint64, account *txn.AccountID) (*Report, error) {
	head := uint64(0)
	if m, err := s.Meta(); err == nil {
		head = m.Height
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	switch {
	case from == 0 || from > to:
		return nil, fmt.Errorf("%w: heights %d to %d: want 1 <= from <= to", ErrReportRange, from, to)
	case to > head:
		return nil, fmt.Errorf("%w: height %d is not committed yet (head %d)", ErrReportRange, to, head)
	case to-from >= ReportBlocksMax:
		return nil, fmt.Errorf("%w: %d heights, limit %d", ErrReportRange, to-from+1, ReportBlocksMax)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: netPrefix(from), UpperBound: netPrefix(to + 1)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	sums := map[netKey]*netDelta{}
	for ok := it.First(); ok; ok = it.Next() {
		if err := sumBlockDeltas(sums, it.Key(), it.Value(), account, 2+8); err != nil {
			return nil, err
		}
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	byMech, err := s.queueSums(from, to, account)
	if err != nil {
		return nil, err
	}
	rep := &Report{From: from, To: to, Positions: make([]Position, 0, len(sums))}
	for k, d := range sums {
		p := Position{Account: k.id, Asset: k.as, Credited: d.credit.big(), Debited: d.debit.big()}
		r, o := byMech[ledger.QueueReleased][k], byMech[ledger.QueueOffset][k]
		if r == nil {
			r = &netDelta{}
		}
		if o == nil {
			o = &netDelta{}
		}
		p.ReleasedCredited, p.ReleasedDebited = r.credit.big(), r.debit.big()
		p.OffsetCredited, p.OffsetDebited = o.credit.big(), o.debit.big()
		rep.Positions = append(rep.Positions, p)
	}
	sort.Slice(rep.Positions, func(i, j int) bool {
		a, b := &rep.Positions[i], &rep.Positions[j]
		if c := bytes.Compare(a.Account[:], b.Account[:]); c != 0 {
			return c < 0
		}
		ka, kb := ledger.AssetKey(a.Asset), ledger.AssetKey(b.Asset)
		return bytes.Compare(ka[:], kb[:]) < 0
	})
	return rep, nil
}

// sumBlockDeltas adds one block's net-delta record to sums (only account's rows
// when account is non-nil).
func sumBlockDeltas(sums map[netKey]*netDelta, k, v []byte, account *txn.AccountID, keyLen int) error {
	if len(k) != keyLen || len(v) < 4 || uint64(len(v)-4) != uint64(binary.BigEndian.Uint32(v))*netEntryLen {
		return fmt.Errorf("net delta record %x is corrupt", k)
	}
	for e := v[4:]; len(e) > 0; e = e[netEntryLen:] {
		var nk netKey
		copy(nk.id[:], e)
		if account != nil && nk.id != *account {
			continue
		}
		var err error
		if nk.as, err = ledger.AssetFromKey(e[20:43]); err != nil && !allZero(e[20:43]) {
			return fmt.Errorf("net delta record %x: %w", k, err)
		}
		d := sums[nk]
		if d == nil {
			if len(sums) >= ReportPositionsMax {
				return fmt.Errorf("%w: over %d positions; name an account or narrow the range", ErrReportTooLarge, ReportPositionsMax)
			}
			d = &netDelta{}
			sums[nk] = d
		}
		addU128(&d.credit, binary.BigEndian.Uint64(e[43:]), binary.BigEndian.Uint64(e[51:]))
		addU128(&d.debit, binary.BigEndian.Uint64(e[59:]), binary.BigEndian.Uint64(e[67:]))
	}
	return nil
}

// queueSums sums the queue's settlements by mechanism over [from, to].
func (s *Store) queueSums(from, to uint64, account *txn.AccountID) (map[ledger.QueueOutcome]map[netKey]*netDelta, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: queueNetKey(from, 0), UpperBound: queueNetKey(to+1, 0)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[ledger.QueueOutcome]map[netKey]*netDelta{ledger.QueueReleased: {}, ledger.QueueOffset: {}}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		m := out[ledger.QueueOutcome(k[len(k)-1])]
		if len(k) != 2+9 || m == nil {
			return nil, fmt.Errorf("queue net delta key %x is corrupt", k)
		}
		if err := sumBlockDeltas(m, k, it.Value(), account, 2+9); err != nil {
			return nil, err
		}
	}
	return out, it.Error()
}

// addU128 adds (hi, lo) to u. Sums over a report's range stay far below 2^128:
// at most ReportBlocksMax blocks of at most 2^32 transfers of at most 2^62 each.
func addU128(u *u128, hi, lo uint64) {
	var c uint64
	u.lo, c = bits.Add64(u.lo, lo, 0)
	u.hi += hi + c
}
