package txn

import (
	"encoding/binary"
	"errors"
	"fmt"

	"settle/engine/codes"
)

// Batch wire format (the body of POST /v1/batch, before optional zstd compression):
//
//	magic "SETTLEBT" | u32 count | count × (u16 length | length bytes of a signed tx)
//
// big-endian, no trailing bytes.
const (
	BatchMagic  = "SETTLEBT"
	BatchTxMax  = 8192
	BatchHeader = len(BatchMagic) + 4
)

// BatchBytesMax bounds an encoded batch.
const BatchBytesMax = BatchHeader + BatchTxMax*(2+TxBytesMax)

// AppendBatchHeader starts a batch of count transactions.
func AppendBatchHeader(dst []byte, count int) []byte {
	dst = append(dst, BatchMagic...)
	return binary.BigEndian.AppendUint32(dst, uint32(count))
}

// AppendBatchTx appends one encoded transaction to a batch.
func AppendBatchTx(dst []byte, raw []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(raw)))
	return append(dst, raw...)
}

// EncodeBatch encodes transactions as a batch.
func EncodeBatch(raws [][]byte) []byte {
	n := BatchHeader
	for _, r := range raws {
		n += 2 + len(r)
	}
	dst := AppendBatchHeader(make([]byte, 0, n), len(raws))
	for _, r := range raws {
		dst = AppendBatchTx(dst, r)
	}
	return dst
}

// SplitBatch checks a batch's framing and returns the raw transactions, as
// sub-slices of b (no copies). The transactions themselves are not decoded: each
// gets its own verdict from Decode, so one bad transaction does not spoil the others.
// Errors are *codes.Error.
func SplitBatch(b []byte, dst [][]byte) ([][]byte, error) {
	if len(b) > BatchBytesMax {
		return nil, codes.Errorf(codes.BodyTooLarge, "batch is %d bytes, limit %d", len(b), BatchBytesMax)
	}
	if len(b) < BatchHeader || string(b[:len(BatchMagic)]) != BatchMagic {
		return nil, codes.Errorf(codes.Malformed, "batch must start with %q and a count", BatchMagic)
	}
	count := binary.BigEndian.Uint32(b[len(BatchMagic):])
	if count == 0 || count > BatchTxMax {
		return nil, codes.Errorf(codes.Malformed, "batch holds %d transactions, want 1 to %d", count, BatchTxMax)
	}
	off := BatchHeader
	for i := uint32(0); i < count; i++ {
		if len(b)-off < 2 {
			return nil, codes.Errorf(codes.Malformed, "batch truncated at transaction %d", i)
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if len(b)-off < n {
			return nil, codes.Errorf(codes.Malformed, "batch truncated inside transaction %d", i)
		}
		dst = append(dst, b[off:off+n:off+n])
		off += n
	}
	if off != len(b) {
		return nil, codes.Errorf(codes.Malformed, "%d trailing bytes after the batch", len(b)-off)
	}
	return dst, nil
}

func asCoded(err error, target **codes.Error) bool { return errors.As(err, target) }

// DecodeBatch splits a batch and decodes every transaction in it (stateless checks
// included, signatures not verified); an empty input is an empty batch. Unlike an
// API submission, where each transaction gets its own verdict, a batch used as a
// block payload is all or nothing: the first bad transaction fails it.
func DecodeBatch(b []byte) ([]*Tx, error) {
	if len(b) == 0 {
		return nil, nil
	}
	raws, err := SplitBatch(b, nil)
	if err != nil {
		return nil, fmt.Errorf("payload batch: %w", err)
	}
	txs := make([]*Tx, len(raws))
	for i, raw := range raws {
		if txs[i], err = Decode(raw); err != nil {
			return nil, fmt.Errorf("payload tx %d: %w", i, err)
		}
	}
	return txs, nil
}
