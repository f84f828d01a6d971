package hotstuff

import (
	"crypto/sha256"
	"fmt"
)

// certifier verifies and assembles quorum and timeout certificates.
type certifier struct {
	chainID string
	vals    validators
	verify  VerifyFunc
	genesis QC
	// known caches the QCs already verified, by their whole content: a QC
	// stays valid, so the same QC seen again needs no new check. The key covers
	// the signers and signatures too, not only (view, block hash): a Byzantine
	// leader can copy a certified pair with a corrupted signature into its block,
	// and a validator that accepted it on the strength of the pair would store
	// and serve a block that every other validator refuses.
	known    map[qcKey]struct{}
	knownMax int
}

type qcKey struct {
	view uint64
	hash Hash
	sigs [32]byte // SHA-256 of the signer bitmap and the signatures
}

func keyOf(q *QC) qcKey {
	h := sha256.New()
	h.Write([]byte{byte(len(q.Signers))})
	h.Write(q.Signers)
	for i := range q.Sigs {
		h.Write(q.Sigs[i][:])
	}
	k := qcKey{view: q.View, hash: q.BlockHash}
	h.Sum(k.sigs[:0])
	return k
}

func (c *certifier) verifyQC(q *QC) error {
	if q.View == 0 {
		if q.BlockHash != c.genesis.BlockHash || len(q.Signers) != 0 || len(q.Sigs) != 0 {
			return fmt.Errorf("%w: a view-0 QC must be the genesis QC", ErrBadCertificate)
		}
		return nil
	}
	key := keyOf(q)
	if _, ok := c.known[key]; ok {
		return nil
	}
	if err := c.checkSigners(q.Signers, len(q.Sigs)); err != nil {
		return fmt.Errorf("QC of view %d: %w", q.View, err)
	}
	msg := voteSignBytes(c.chainID, q.View, q.BlockHash)
	for i, idx := range q.Signers.Indices() {
		if !c.verify(c.vals.keys[idx], msg, q.Sigs[i]) {
			return fmt.Errorf("%w: QC of view %d has a bad signature from %d", ErrBadCertificate, q.View, idx)
		}
	}
	if len(c.known) >= c.knownMax {
		clear(c.known) // bounded: forgetting only costs a re-verification
	}
	c.known[key] = struct{}{}
	return nil
}

func (c *certifier) checkSigners(b Bitmap, sigCount int) error {
	idx := b.Indices()
	if len(idx) != sigCount {
		return fmt.Errorf("%w: %d signers but %d signatures", ErrBadCertificate, len(idx), sigCount)
	}
	if len(idx) < c.vals.quorum() {
		return fmt.Errorf("%w: %d signers, quorum is %d", ErrBadCertificate, len(idx), c.vals.quorum())
	}
	if !c.vals.valid(idx[len(idx)-1]) {
		return fmt.Errorf("%w: signer %d", ErrUnknownValidator, idx[len(idx)-1])
	}
	return nil
}

func (c *certifier) verifyTC(t *TC) error {
	if err := c.checkSigners(t.Signers, len(t.Sigs)); err != nil {
		return fmt.Errorf("TC of view %d: %w", t.View, err)
	}
	if len(t.HighQCViews) != len(t.Sigs) {
		return fmt.Errorf("%w: TC of view %d has %d QC views for %d signatures", ErrBadCertificate, t.View, len(t.HighQCViews), len(t.Sigs))
	}
	if t.HighQC.View != t.MaxHighQCView() || t.HighQC.View >= t.View {
		return fmt.Errorf("%w: TC of view %d carries QC of view %d, signers reported %d", ErrBadCertificate, t.View, t.HighQC.View, t.MaxHighQCView())
	}
	for i, idx := range t.Signers.Indices() {
		if !c.verify(c.vals.keys[idx], timeoutSignBytes(c.chainID, t.View, t.HighQCViews[i]), t.Sigs[i]) {
			return fmt.Errorf("%w: TC of view %d has a bad signature from %d", ErrBadCertificate, t.View, idx)
		}
	}
	if err := c.verifyQC(&t.HighQC); err != nil {
		return fmt.Errorf("TC of view %d: %w", t.View, err)
	}
	return nil
}

// buildQC assembles a QC from votes keyed by voter. Caller checked the quorum.
func buildQC(view uint64, hash Hash, votes map[ValidatorIndex]Signature) QC {
	q := QC{View: view, BlockHash: hash}
	for idx := range votes {
		q.Signers = q.Signers.With(idx)
	}
	for _, idx := range q.Signers.Indices() {
		q.Sigs = append(q.Sigs, votes[idx])
	}
	return q
}

// buildTC assembles a TC from timeouts keyed by sender. Caller checked the quorum.
func buildTC(view uint64, timeouts map[ValidatorIndex]*Timeout) *TC {
	t := &TC{View: view}
	for idx := range timeouts {
		t.Signers = t.Signers.With(idx)
	}
	for _, idx := range t.Signers.Indices() {
		to := timeouts[idx]
		t.HighQCViews = append(t.HighQCViews, to.HighQC.View)
		t.Sigs = append(t.Sigs, to.Signature)
		if to.HighQC.View >= t.HighQC.View {
			t.HighQC = to.HighQC
		}
	}
	return t
}

// remember marks a QC this validator assembled from verified votes as certified.
func (c *certifier) remember(q *QC) {
	if len(c.known) >= c.knownMax {
		clear(c.known)
	}
	c.known[keyOf(q)] = struct{}{}
}

// VerifyQC checks qc as a light client does, against nothing but a validator
// set: a quorum of distinct validators among keys signed (view, block hash) for
// chainID under verify. A view-0 QC (the genesis QC) certifies only the genesis
// block and is refused.
func VerifyQC(chainID string, keys [][]byte, verify VerifyFunc, qc *QC) error {
	if qc.View == 0 {
		return fmt.Errorf("%w: a view-0 QC certifies only the genesis block", ErrBadCertificate)
	}
	c := certifier{chainID: chainID, vals: newValidators(keys), verify: verify, known: map[qcKey]struct{}{}, knownMax: 1}
	return c.verifyQC(qc)
}
