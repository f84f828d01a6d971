package merkle

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

func BenchmarkListRoot(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
			leaves := testLeaves(n)
			b.ReportAllocs()
			for b.Loop() {
				ListRoot(leaves)
			}
		})
	}
}

// benchState is a state tree of random keys with the keys it holds.
type benchState struct {
	tree Tree
	keys []Hash
}

// benchTrees caches the big trees, which take seconds to build, across the
// benchmarks that read them. Sharing is safe because a Tree is immutable.
var benchTrees = struct {
	sync.Mutex
	m map[int]*benchState
}{m: map[int]*benchState{}}

func benchTree(b *testing.B, n int) *benchState {
	b.Helper()
	benchTrees.Lock()
	defer benchTrees.Unlock()
	if st, ok := benchTrees.m[n]; ok {
		return st
	}
	st := &benchState{keys: randomKeys(rand.New(rand.NewPCG(uint64(n), 1)), n)}
	st.tree = Tree{}.Update(insertAll(st.keys))
	if st.tree.Len() != n {
		b.Fatalf("built %d leaves, want %d", st.tree.Len(), n)
	}
	benchTrees.m[n] = st
	return st
}

func randomKeys(rng *rand.Rand, n int) []Hash {
	keys := make([]Hash, n)
	for i := range keys {
		keys[i] = randHash(rng)
	}
	return keys
}

// insertAll sets every key to a value derived from it.
func insertAll(keys []Hash) []Change {
	cs := make([]Change, len(keys))
	for i, k := range keys {
		cs[i] = Change{Key: k, Value: NodeHash(k, k)}
	}
	return cs
}

// updateBatch is the benchmark's block: 3,000 overwrites of distinct
// existing keys and 1,000 inserts of new keys, in random order.
func updateBatch(rng *rand.Rand, keys []Hash) []Change {
	const overwrites, inserts = 3_000, 1_000
	seen := map[int]bool{}
	batch := make([]Change, 0, overwrites+inserts)
	for len(seen) < overwrites {
		i := rng.IntN(len(keys))
		if !seen[i] {
			seen[i] = true
			batch = append(batch, Change{Key: keys[i], Value: randHash(rng)})
		}
	}
	for range inserts {
		batch = append(batch, Change{Key: randHash(rng), Value: randHash(rng)})
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	return batch
}

func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
			st := benchTree(b, n)
			rng := rand.New(rand.NewPCG(2, 3))
			batches := make([][]Change, 8)
			for i := range batches {
				batches[i] = updateBatch(rng, st.keys)
			}
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				// Each batch applies to the same base version, which
				// path copying leaves intact.
				st.tree.Update(batches[iters%len(batches)])
				iters++
			}
			k := len(batches[0])
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*k), "ns/key")
		})
	}
}

// proofBytes is the size of p as a client receives it: 32 bytes per
// sibling and 64 for a leaf.
func proofBytes(p StateProof) int {
	n := 32 * len(p.Siblings)
	if p.Leaf != nil {
		n += 64
	}
	return n
}

// benchProofs is how many keys a proof benchmark cycles through per
// operation, so that even -benchtime 1x averages over many paths.
const benchProofs = 1024

// sampleKeys returns benchProofs present keys of st, spread over its keys.
func sampleKeys(st *benchState) []Hash {
	keys := make([]Hash, benchProofs)
	for i := range keys {
		keys[i] = st.keys[i*(len(st.keys)/benchProofs)]
	}
	return keys
}

func BenchmarkProve(b *testing.B) {
	st := benchTree(b, 1_000_000)
	keys := sampleKeys(st)
	total := 0
	for _, k := range keys {
		total += proofBytes(st.tree.Prove(k))
	}
	b.ReportAllocs()
	iters := 0
	for b.Loop() {
		for _, k := range keys {
			st.tree.Prove(k)
		}
		iters++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*len(keys)), "ns/prove")
	b.ReportMetric(float64(total)/float64(len(keys)), "proof-bytes")
}

func BenchmarkVerifyState(b *testing.B) {
	benchVerify(b, benchTree(b, 1_000_000))
}

// benchVerify times VerifyState on proofs of present keys of st; one
// operation verifies benchProofs proofs.
func benchVerify(b *testing.B, st *benchState) {
	b.Helper()
	root := st.tree.Root()
	keys := sampleKeys(st)
	proofs := make([]StateProof, len(keys))
	total := 0
	for i, k := range keys {
		proofs[i] = st.tree.Prove(k)
		total += proofBytes(proofs[i])
	}
	b.ReportAllocs()
	iters := 0
	for b.Loop() {
		for i, p := range proofs {
			if _, ok, err := VerifyState(root, keys[i], p); err != nil || !ok {
				b.Fatalf("proof %d: %v, %v", i, ok, err)
			}
		}
		iters++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*len(proofs)), "ns/verify")
	b.ReportMetric(float64(total)/float64(len(proofs)), "proof-bytes")
}

// heapBytes is the live heap after a full collection.
func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// measuredTree builds a tree of n random keys and returns it with its heap
// bytes per leaf, the batch it was built from already collected.
func measuredTree(n int) (*benchState, float64) {
	keys := randomKeys(rand.New(rand.NewPCG(uint64(n), 1)), n)
	before := heapBytes()
	tree := Tree{}.Update(insertAll(keys))
	after := heapBytes()
	return &benchState{tree: tree, keys: keys}, float64(after-before) / float64(n)
}

// BenchmarkVerify10M verifies proofs from a 10-million-leaf tree. Building
// it takes a while and about 2.5 GB, so it runs only when asked:
// SETTLE_BENCH_10M=1 go test -run XXX -bench Verify10M -benchtime 1x.
func BenchmarkVerify10M(b *testing.B) {
	if os.Getenv("SETTLE_BENCH_10M") != "1" {
		b.Skip("set SETTLE_BENCH_10M=1 to build the 10,000,000-leaf tree")
	}
	const n = 10_000_000
	st, perLeaf := measuredTree(n)
	if st.tree.Len() != n {
		b.Fatalf("built %d leaves, want %d", st.tree.Len(), n)
	}
	benchVerify(b, st)
	// After the loop: b.Loop's first call resets the reported metrics.
	b.ReportMetric(perLeaf, "heap-bytes/leaf")
	runtime.KeepAlive(st)
}

// BenchmarkBuild builds a 1,000,000-leaf tree from scratch with one Update,
// as at start-up; "sorted" feeds the keys in order, as a database scan
// would.
func BenchmarkBuild(b *testing.B) {
	const n = 1_000_000
	_, perLeaf := measuredTree(n)
	for _, order := range []string{"random", "sorted"} {
		b.Run("order="+order, func(b *testing.B) {
			changes := insertAll(randomKeys(rand.New(rand.NewPCG(5, 6)), n))
			if order == "sorted" {
				slices.SortFunc(changes, func(x, y Change) int { return strings.Compare(string(x.Key[:]), string(y.Key[:])) })
			}
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				Tree{}.Update(changes)
				iters++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*n), "ns/leaf")
			b.ReportMetric(perLeaf, "heap-bytes/leaf")
		})
	}
}
