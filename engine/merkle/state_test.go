package merkle

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var stateSeed = flag.Uint64("state-seed", 0, "extra seed for the randomized state-tree test (0: derived from the clock)")

// refRoot is the state tree's root written straight from the recursive
// definition in the Tree doc comment, sharing no code with the
// implementation.
func refRoot(set map[Hash]Hash) Hash {
	type pair struct{ k, v Hash }
	var rec func(ps []pair, depth int) Hash
	rec = func(ps []pair, depth int) Hash {
		switch len(ps) {
		case 0:
			return Hash{}
		case 1:
			return sha256.Sum256(slices.Concat([]byte{0}, ps[0].k[:], ps[0].v[:]))
		}
		var zero, one []pair
		for _, p := range ps {
			if p.k[depth/8]&(0x80>>(depth%8)) == 0 {
				zero = append(zero, p)
			} else {
				one = append(one, p)
			}
		}
		l, r := rec(zero, depth+1), rec(one, depth+1)
		return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:]))
	}
	ps := make([]pair, 0, len(set))
	for k, v := range set {
		ps = append(ps, pair{k, v})
	}
	return rec(ps, 0)
}

// flipBit returns key with bit i (most significant first) inverted.
func flipBit(key Hash, i int) Hash {
	key[i/8] ^= 0x80 >> (i % 8)
	return key
}

func randHash(rng *rand.Rand) Hash {
	var h Hash
	for i := 0; i < len(h); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			h[i+j] = byte(v >> (8 * j))
		}
	}
	return h
}

// checkShape walks the whole tree and checks the node invariants: stored
// hashes are right, compression holds, every leaf sits on its own key's
// path. It returns the number of leaves.
func checkShape(t *testing.T, n node, depth int, prefix Hash) int {
	t.Helper()
	switch x := n.(type) {
	case nil:
		return 0
	case *leaf:
		if x.hash != StateLeafHash(x.key, x.value) {
			t.Fatalf("leaf %x at depth %d has a stale hash", x.key, depth)
		}
		if !sharesPrefix(&x.key, &prefix, depth) {
			t.Fatalf("leaf %x at depth %d is off its path", x.key, depth)
		}
		return 1
	case *inner:
		if depth >= KeyBits {
			t.Fatalf("internal node at depth %d", depth)
		}
		_, leftLeaf := x.left.(*leaf)
		_, rightLeaf := x.right.(*leaf)
		if (x.left == nil && (x.right == nil || rightLeaf)) || (x.right == nil && leftLeaf) {
			t.Fatalf("internal node at depth %d breaks compression (left %T, right %T)", depth, x.left, x.right)
		}
		if x.hash != NodeHash(hashOf(x.left), hashOf(x.right)) {
			t.Fatalf("internal node at depth %d has a stale hash", depth)
		}
		return checkShape(t, x.left, depth+1, prefix) + checkShape(t, x.right, depth+1, flipBit(prefix, depth))
	default:
		t.Fatalf("unknown node type %T", n)
		return 0
	}
}

// version is a tree version with what it must hold.
type version struct {
	tree  Tree
	model map[Hash]Hash
	root  Hash
}

// proofStats counts which kinds of proof a test exercised.
type proofStats struct{ present, absentEmpty, absentLeaf int }

// checkVersion checks t against model: root, length, lookups, and proofs
// for present keys and for the absent keys in probes.
func checkVersion(t *testing.T, v version, probes []Hash, stats *proofStats) {
	t.Helper()
	if got := v.tree.Root(); got != v.root {
		t.Fatalf("root = %x, reference %x", got, v.root)
	}
	if got := v.tree.Len(); got != len(v.model) {
		t.Fatalf("Len = %d, model has %d", got, len(v.model))
	}
	if got := checkShape(t, v.tree.root, 0, Hash{}); got != len(v.model) {
		t.Fatalf("the tree holds %d leaves, model %d", got, len(v.model))
	}
	for k, want := range v.model {
		if got, ok := v.tree.Get(k); !ok || got != want {
			t.Fatalf("Get(%x) = %x, %v; want %x, true", k, got, ok, want)
		}
		value, present, err := VerifyState(v.root, k, v.tree.Prove(k))
		if err != nil || !present || value != want {
			t.Fatalf("proof of present key %x: %x, %v, %v", k, value, present, err)
		}
		stats.present++
	}
	for _, k := range probes {
		if _, in := v.model[k]; in {
			continue
		}
		if _, ok := v.tree.Get(k); ok {
			t.Fatalf("Get(%x) finds an absent key", k)
		}
		p := v.tree.Prove(k)
		value, present, err := VerifyState(v.root, k, p)
		if err != nil || present || value != (Hash{}) {
			t.Fatalf("proof of absent key %x: %x, %v, %v", k, value, present, err)
		}
		if p.Leaf == nil {
			stats.absentEmpty++
		} else {
			stats.absentLeaf++
		}
	}
}

// randomBatch makes a batch of distinct-key changes against model: inserts
// of fresh keys and of keys crafted to share long prefixes with present
// ones, overwrites, deletes of present and of absent keys, and now and then
// the deletion of everything.
func randomBatch(rng *rand.Rand, model map[Hash]Hash) []Change {
	present := slices.Collect(maps.Keys(model))
	slices.SortFunc(present, func(a, b Hash) int { return strings.Compare(string(a[:]), string(b[:])) })
	batch := map[Hash]Change{}
	if len(present) > 0 && rng.IntN(12) == 0 {
		for _, k := range present {
			batch[k] = Change{Key: k, Delete: true}
		}
	} else {
		n := 1 + rng.IntN(40)
		for range n {
			c := randomChange(rng, present)
			batch[c.Key] = c
		}
	}
	out := slices.Collect(maps.Values(batch))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func randomChange(rng *rand.Rand, present []Hash) Change {
	some := func() Hash { return present[rng.IntN(len(present))] }
	value := randHash(rng)
	if len(present) == 0 {
		return Change{Key: randHash(rng), Value: value}
	}
	switch rng.IntN(9) {
	case 0, 1:
		return Change{Key: randHash(rng), Value: value}
	case 2:
		return Change{Key: flipBit(some(), KeyBits-1), Value: value} // differs only in the last bit
	case 3:
		return Change{Key: flipBit(some(), 200), Value: value} // differs only at depth 200
	case 4:
		return Change{Key: flipBit(some(), rng.IntN(KeyBits)), Value: value}
	case 5:
		return Change{Key: some(), Value: value} // overwrite
	case 6:
		k := some()
		return Change{Key: k, Delete: true}
	case 7:
		return Change{Key: flipBit(some(), 100+rng.IntN(156)), Delete: true} // usually absent
	default:
		return Change{Key: randHash(rng), Delete: true} // absent
	}
}

func applyToModel(model map[Hash]Hash, batch []Change) map[Hash]Hash {
	next := maps.Clone(model)
	for _, c := range batch {
		if c.Delete {
			delete(next, c.Key)
		} else {
			next[c.Key] = c.Value
		}
	}
	return next
}

// probeKeys returns absent-key candidates: random keys (mostly empty
// subtrees near the root, or other leaves in sparse trees) and near misses
// of present keys (other leaves deep down).
func probeKeys(rng *rand.Rand, model map[Hash]Hash) []Hash {
	probes := []Hash{randHash(rng), randHash(rng), {}, {0xff}}
	for k := range model {
		probes = append(probes, flipBit(k, KeyBits-1), flipBit(k, 200), flipBit(k, rng.IntN(KeyBits)))
		if len(probes) > 60 {
			break
		}
	}
	return probes
}

func TestStateRandomized(t *testing.T) {
	seeds := []uint64{1, 2, 3, *stateSeed}
	if *stateSeed == 0 {
		seeds[3] = uint64(time.Now().UnixNano())
	}
	var stats proofStats
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (rerun with -state-seed=%d)", seed, seed)
			runRandomized(t, seed, &stats)
		})
	}
	t.Logf("proofs checked: %d present, %d absent in an empty subtree, %d absent at another leaf",
		stats.present, stats.absentEmpty, stats.absentLeaf)
	if !t.Failed() && (stats.absentEmpty == 0 || stats.absentLeaf == 0) {
		t.Errorf("both kinds of absence proof must be exercised: %+v", stats)
	}
}

func runRandomized(t *testing.T, seed uint64, stats *proofStats) {
	rng := rand.New(rand.NewPCG(seed, 0x5e771e))
	versions := []version{{model: map[Hash]Hash{}, root: EmptyHash}}
	for step := range 60 {
		cur := versions[len(versions)-1]
		batch := randomBatch(rng, cur.model)
		orig := slices.Clone(batch)
		next := cur.tree.Update(batch)
		if !slices.Equal(batch, orig) {
			t.Fatalf("seed %d step %d: Update modified the caller's batch", seed, step)
		}
		model := applyToModel(cur.model, batch)
		v := version{tree: next, model: model, root: refRoot(model)}
		checkVersion(t, v, probeKeys(rng, model), stats)
		versions = append(versions, v)
	}
	// Path copying: every old version still answers as it did.
	for i, v := range versions {
		if got := v.tree.Root(); got != v.root {
			t.Fatalf("seed %d: version %d's root changed to %x after later updates", seed, i, got)
		}
		checkVersion(t, v, nil, stats)
	}
}

// buildTree builds a tree from model in one batch.
func buildTree(model map[Hash]Hash) Tree {
	var cs []Change
	for k, v := range model {
		cs = append(cs, Change{Key: k, Value: v})
	}
	return Tree{}.Update(cs)
}

func TestStateEdgeCases(t *testing.T) {
	a := sha256.Sum256([]byte("a"))
	va := sha256.Sum256([]byte("value a"))
	vb := sha256.Sum256([]byte("value b"))
	lastBit := flipBit(a, KeyBits-1)
	tests := []struct {
		name    string
		batches [][]Change
		want    map[Hash]Hash
	}{
		{"empty batch on empty tree", [][]Change{nil}, map[Hash]Hash{}},
		{"delete on empty tree", [][]Change{{{Key: a, Delete: true}}}, map[Hash]Hash{}},
		{"one leaf is the root", [][]Change{{{Key: a, Value: va}}}, map[Hash]Hash{a: va}},
		{"keys differing in the last bit", [][]Change{{{Key: a, Value: va}, {Key: lastBit, Value: vb}}}, map[Hash]Hash{a: va, lastBit: vb}},
		{"delete one of a deep pair lifts the other to the root", [][]Change{
			{{Key: a, Value: va}, {Key: lastBit, Value: vb}},
			{{Key: a, Delete: true}},
		}, map[Hash]Hash{lastBit: vb}},
		{"insert then delete everything", [][]Change{
			{{Key: a, Value: va}, {Key: lastBit, Value: vb}},
			{{Key: a, Delete: true}, {Key: lastBit, Delete: true}},
		}, map[Hash]Hash{}},
		{"delete and insert in one batch", [][]Change{
			{{Key: a, Value: va}},
			{{Key: a, Delete: true}, {Key: lastBit, Value: vb}},
		}, map[Hash]Hash{lastBit: vb}},
	}
	for _, tc := range tests {
		var tree Tree
		for _, b := range tc.batches {
			tree = tree.Update(b)
		}
		if got, want := tree.Root(), refRoot(tc.want); got != want {
			t.Errorf("%s: root %x, reference %x", tc.name, got, want)
		}
		if tree.Len() != len(tc.want) {
			t.Errorf("%s: Len %d, want %d", tc.name, tree.Len(), len(tc.want))
		}
		checkShape(t, tree.root, 0, Hash{})
	}
	single := Tree{}.Update([]Change{{Key: a, Value: va}})
	if single.Root() != StateLeafHash(a, va) {
		t.Errorf("a one-leaf tree's root must be that leaf's hash")
	}
	if p := single.Prove(a); len(p.Siblings) != 0 || p.Leaf == nil {
		t.Errorf("proof in a one-leaf tree: %+v, want no siblings and the leaf", p)
	}
	if p := (Tree{}).Prove(a); len(p.Siblings) != 0 || p.Leaf != nil {
		t.Errorf("proof in the empty tree: %+v, want nothing", p)
	}
	if _, present, err := VerifyState(EmptyHash, a, StateProof{}); err != nil || present {
		t.Errorf("absence in the empty tree: %v, %v", present, err)
	}
}

func TestUpdatePanicsOnRepeatedKey(t *testing.T) {
	k := sha256.Sum256([]byte("k"))
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "more than once") {
			t.Errorf("Update with a repeated key: recovered %v, want a panic naming the key", r)
		}
	}()
	Tree{}.Update([]Change{{Key: k}, {Key: sha256.Sum256(nil)}, {Key: k, Delete: true}})
}

// TestUpdateShares checks path copying directly: untouched subtrees are the
// same nodes, and no-op batches keep the whole tree.
func TestUpdateShares(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	model := map[Hash]Hash{}
	for range 1000 {
		model[randHash(rng)] = randHash(rng)
	}
	base := buildTree(model)
	var someKey Hash
	for k := range model {
		someKey = k
		break
	}
	noops := [][]Change{
		{{Key: someKey, Value: model[someKey]}},
		{{Key: flipBit(someKey, KeyBits-1), Delete: true}},
		{{Key: randHash(rng), Delete: true}, {Key: someKey, Value: model[someKey]}},
	}
	for i, b := range noops {
		if got := base.Update(b); got.root != base.root || got.size != base.size {
			t.Errorf("no-op batch %d built a new tree", i)
		}
	}
	root := base.root.(*inner)
	next := base.Update([]Change{{Key: someKey, Value: Hash{1}}})
	nroot := next.root.(*inner)
	untouched, fresh := root.right, nroot.right
	if bit(&someKey, 0) == 1 {
		untouched, fresh = root.left, nroot.left
	}
	if untouched != fresh {
		t.Errorf("the root's untouched subtree was copied, not shared")
	}
	if next.Root() == base.Root() {
		t.Errorf("the root did not change")
	}
}

// TestUpdateLargeBatch covers batches big enough for Update to build the
// two halves of the root on two goroutines (run it with -race).
func TestUpdateLargeBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	model := map[Hash]Hash{}
	for range 3 * parallelMin / 2 {
		model[randHash(rng)] = randHash(rng)
	}
	leftOnly := map[Hash]Hash{}
	for range parallelMin + 10 {
		k := randHash(rng)
		k[0] &^= 0x80
		leftOnly[k] = randHash(rng)
	}
	tree := buildTree(model)
	check := func(name string, tree Tree, model map[Hash]Hash) {
		t.Helper()
		if got, want := tree.Root(), refRoot(model); got != want {
			t.Fatalf("%s: root %x, reference %x", name, got, want)
		}
		if tree.Len() != len(model) {
			t.Fatalf("%s: Len %d, want %d", name, tree.Len(), len(model))
		}
		checkShape(t, tree.root, 0, Hash{})
	}
	check("build", tree, model)
	check("build of keys all under the root's left child", buildTree(leftOnly), leftOnly)

	// Overwrites, deletes of present and absent keys, inserts.
	var batch []Change
	i := 0
	for k := range model {
		switch i % 4 {
		case 0:
			batch = append(batch, Change{Key: k, Value: randHash(rng)})
		case 1:
			batch = append(batch, Change{Key: k, Delete: true})
		case 2:
			batch = append(batch, Change{Key: flipBit(k, KeyBits-1), Value: randHash(rng)})
		case 3:
			batch = append(batch, Change{Key: flipBit(k, 128), Delete: true})
		}
		i++
	}
	next := tree.Update(batch)
	check("mixed batch", next, applyToModel(model, batch))
	check("the old version after the mixed batch", tree, model)

	var noop, all []Change
	for k, v := range model {
		noop = append(noop, Change{Key: k, Value: v}, Change{Key: flipBit(k, 77), Delete: true})
		all = append(all, Change{Key: k, Delete: true})
	}
	if got := tree.Update(noop); got.root != tree.root {
		t.Errorf("a large no-op batch built a new tree")
	}
	check("delete everything", tree.Update(all), map[Hash]Hash{})
}

// TestStateProofRejects tampers with valid proofs in every way a light
// client must notice.
func TestStateProofRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	model := map[Hash]Hash{}
	for range 300 {
		model[randHash(rng)] = randHash(rng)
	}
	present := slices.Collect(maps.Keys(model))
	deep := flipBit(present[0], KeyBits-1)
	model[deep] = randHash(rng) // a 256-deep proof
	tree := buildTree(model)
	root := tree.Root()

	// An absent key that ends at another leaf, and one that ends in an
	// empty subtree.
	var atLeaf, atEmpty Hash
	for atLeaf == (Hash{}) || atEmpty == (Hash{}) {
		k := flipBit(present[rng.IntN(len(present))], 20+rng.IntN(200))
		if _, in := model[k]; in {
			continue
		}
		if tree.Prove(k).Leaf != nil {
			atLeaf = k
		} else {
			atEmpty = k
		}
	}
	clone := func(p StateProof) StateProof {
		q := StateProof{Siblings: slices.Clone(p.Siblings)}
		if p.Leaf != nil {
			l := *p.Leaf
			q.Leaf = &l
		}
		return q
	}
	other := present[1]
	tests := []struct {
		name string
		key  Hash
		root Hash
		p    StateProof
		want string // part of the error message
	}{}
	add := func(name string, key Hash, p StateProof, want string) {
		tests = append(tests, struct {
			name string
			key  Hash
			root Hash
			p    StateProof
			want string
		}{name, key, root, p, want})
	}
	for _, k := range []Hash{present[0], deep, present[2]} {
		p := tree.Prove(k)
		q := clone(p)
		q.Leaf.ValueHash[0] ^= 1
		add("tampered value hash", k, q, "root mismatch")
		q = clone(p)
		q.Siblings[len(q.Siblings)-1][7] ^= 1
		add("tampered sibling (bottom)", k, q, "root mismatch")
		q = clone(p)
		q.Siblings[0][7] ^= 1
		add("tampered sibling (top)", k, q, "root mismatch")
		q = clone(p)
		q.Siblings = q.Siblings[:len(q.Siblings)-1]
		add("dropped sibling (bottom)", k, q, "")
		q = clone(p)
		q.Siblings = q.Siblings[1:]
		add("dropped sibling (top)", k, q, "")
		q = clone(p)
		q.Siblings = append(q.Siblings, EmptyHash)
		add("added sibling", k, q, "")
		add("present key's proof for another present key", other, clone(p), "")
		q = clone(p)
		q.Leaf = nil
		add("forged absence (empty subtree) of a present key", k, q, "root mismatch")
		if len(p.Siblings) < KeyBits {
			q = clone(p)
			q.Leaf.Key = flipBit(k, KeyBits-1)
			add("forged absence (another leaf) of a present key", k, q, "root mismatch")
		}
		q = clone(p)
		q.Leaf.Key = flipBit(k, 0)
		add("leaf off the key's path", k, q, "not on the key's path")
		tests = append(tests, struct {
			name string
			key  Hash
			root Hash
			p    StateProof
			want string
		}{"wrong root", k, flipBit(root, 3), clone(p), "root mismatch"})
	}
	for _, k := range []Hash{atLeaf, atEmpty} {
		p := tree.Prove(k)
		q := clone(p)
		q.Siblings[len(q.Siblings)-1][0] ^= 1
		add("absence proof with a tampered sibling", k, q, "root mismatch")
		if p.Leaf != nil {
			q = clone(p)
			q.Leaf.ValueHash[0] ^= 1
			add("absence proof with a tampered leaf", k, q, "root mismatch")
			q = clone(p)
			q.Leaf = nil
			add("absence proof with the leaf dropped", k, q, "root mismatch")
		} else {
			q = clone(p)
			q.Leaf = &Leaf{Key: k, ValueHash: Hash{9}}
			add("absence proof turned into presence", k, q, "root mismatch")
		}
	}
	add("257 siblings", present[0], StateProof{Siblings: make([]Hash, KeyBits+1)}, "at most 256")
	add("257 siblings and a leaf", present[0], StateProof{Siblings: make([]Hash, KeyBits+1), Leaf: &Leaf{Key: present[0]}}, "at most 256")

	for _, tc := range tests {
		value, ok, err := VerifyState(tc.root, tc.key, tc.p)
		requireProofError(t, tc.name, err)
		if err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		}
		if err != nil && (ok || value != (Hash{})) {
			t.Errorf("%s: rejected but returned %x, %v", tc.name, value, ok)
		}
	}
	// The untampered proofs pass, so the cases above fail for the reason
	// they name.
	for _, k := range []Hash{present[0], deep, present[2], atLeaf, atEmpty} {
		if _, _, err := VerifyState(root, k, tree.Prove(k)); err != nil {
			t.Errorf("untampered proof for %x: %v", k, err)
		}
	}
}

// stateVectorKeys are chosen so that the tree shows every shape: a chain of
// internal nodes with empty siblings (keys 0 and 1 share 9 bits), a leaf
// lifted high beside an internal node (key 2), and a pair of leaves lifted
// to depth 2 (keys 3 and 4).
func stateVectorKeys() []Hash {
	keys := make([]Hash, 5)
	keys[0] = Hash{0x00, 0x00} // 0000 0000 0...
	keys[1] = Hash{0x00, 0x40} // 0000 0000 01..: shares the first 9 bits with keys[0]
	keys[2] = Hash{0x20}       // 001...: alone under prefix 001
	keys[3] = Hash{0x80}       // 10...
	keys[4] = Hash{0xc0}       // 11...
	for i := range keys {
		keys[i][31] = byte(i + 1) // low bits that do not change the shape
	}
	return keys
}

type stateVectorLeaf struct {
	Key       hexHash `json:"key"`
	ValueHash hexHash `json:"value_hash"`
}

type stateVectorProof struct {
	Comment   string           `json:"comment"`
	Key       hexHash          `json:"key"`
	Siblings  []hexHash        `json:"siblings"` // from the root down
	Leaf      *stateVectorLeaf `json:"leaf"`
	Present   bool             `json:"present"`
	ValueHash hexHash          `json:"value_hash"` // zero when absent
}

type stateVectorFile struct {
	Comment string             `json:"comment"`
	Leaves  []stateVectorLeaf  `json:"leaves"`
	Root    hexHash            `json:"root"`
	Proofs  []stateVectorProof `json:"proofs"`
}

func TestStateVectors(t *testing.T) {
	keys := stateVectorKeys()
	model := map[Hash]Hash{}
	file := stateVectorFile{
		Comment: "Sparse Merkle tree over 256-bit keys with leaf compression. Value hash i = SHA-256(\"value-i\"). " +
			"Leaf hash = SHA-256(0x00 || key || value_hash); node hash = SHA-256(0x01 || left || right); empty subtree = 32 zero bytes; " +
			"key bit i = bit (7 - i%8) of byte i/8; bit 0 chooses the root's child (0 left, 1 right); siblings run from the root down.",
	}
	for i, k := range keys {
		v := sha256.Sum256(fmt.Appendf(nil, "value-%d", i))
		model[k] = v
		file.Leaves = append(file.Leaves, stateVectorLeaf{hexHash(k), hexHash(v)})
	}
	tree := buildTree(model)
	root := tree.Root()
	if want := refRoot(model); root != want {
		t.Fatalf("root %x, reference %x", root, want)
	}
	file.Root = hexHash(root)
	probes := []struct {
		comment string
		key     Hash
	}{
		{"presence of key 1 (10 siblings, 7 of them empty: 6 along the 9-bit prefix key 1 shares with key 0)", keys[1]},
		{"absence, the path ends in an empty subtree (prefix 01)", Hash{0x60}},
		{"absence, the path ends at key 2's leaf (shares the first 3 bits)", Hash{0x30}},
	}
	for _, pr := range probes {
		p := tree.Prove(pr.key)
		value, present, err := VerifyState(root, pr.key, p)
		if err != nil {
			t.Fatalf("%s: %v", pr.comment, err)
		}
		vp := stateVectorProof{Comment: pr.comment, Key: hexHash(pr.key), Siblings: toHex(p.Siblings), Present: present, ValueHash: hexHash(value)}
		if p.Leaf != nil {
			vp.Leaf = &stateVectorLeaf{hexHash(p.Leaf.Key), hexHash(p.Leaf.ValueHash)}
		}
		file.Proofs = append(file.Proofs, vp)
	}
	// The probes must show what their comments claim.
	if p := file.Proofs; len(p[0].Siblings) != 10 || !p[0].Present || p[1].Leaf != nil || p[1].Present ||
		p[2].Leaf == nil || Hash(p[2].Leaf.Key) != keys[2] || p[2].Present {
		t.Fatalf("the vector proofs do not have the intended shapes: %+v", p)
	}
	checkVectors(t, "state_vectors.json", file)
}

// TestConcurrentReaders has readers prove and verify against version v while
// the next versions are built from it; run it with -race.
func TestConcurrentReaders(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	model := map[Hash]Hash{}
	for range 2000 {
		model[randHash(rng)] = randHash(rng)
	}
	v := buildTree(model)
	root := v.Root()
	keys := slices.Collect(maps.Keys(model))

	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Go(func() {
			for i := r; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				k := keys[i%len(keys)]
				value, present, err := VerifyState(root, k, v.Prove(k))
				if err == nil && (!present || value != model[k]) {
					err = fmt.Errorf("key %x: got %x, %v", k, value, present)
				}
				if got := v.Root(); err == nil && got != root {
					err = fmt.Errorf("version v's root changed to %x", got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	next := v
	for range 20 {
		var batch []Change
		for j := range 200 {
			k := keys[rng.IntN(len(keys))]
			if j%4 == 0 {
				k = randHash(rng)
			}
			batch = append(batch, Change{Key: k, Value: randHash(rng), Delete: j%7 == 0})
		}
		slices.SortFunc(batch, func(a, b Change) int { return strings.Compare(string(a.Key[:]), string(b.Key[:])) })
		batch = slices.CompactFunc(batch, func(a, b Change) bool { return a.Key == b.Key })
		next = next.Update(batch)
		// Also update v itself concurrently with the readers: a sibling
		// version of v+1.
		_ = v.Update(batch)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if next.Root() == root {
		t.Errorf("the writer did not produce new versions")
	}
}
