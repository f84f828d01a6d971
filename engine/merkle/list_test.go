package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// refListRoot is the RFC 6962 Merkle Tree Hash written straight from the
// RFC's recursive definition, sharing no code with ListRoot.
func refListRoot(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := refListRoot(leaves[:k]), refListRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// refListShape is the sequence of turns ('L' or 'R') from the root down to
// leaf index of a list of count leaves, from the RFC definition. Two
// (index, count) pairs with the same shape have interchangeable audit
// paths.
func refListShape(index, count int) string {
	var s strings.Builder
	for count > 1 {
		k := 1
		for k*2 < count {
			k *= 2
		}
		if index < k {
			s.WriteByte('L')
			count = k
		} else {
			s.WriteByte('R')
			index -= k
			count -= k
		}
	}
	return s.String()
}

// testLeaves returns LeafHash([]byte{i}) for i < n.
func testLeaves(n int) []Hash {
	leaves := make([]Hash, n)
	for i := range leaves {
		leaves[i] = LeafHash([]byte{byte(i)})
	}
	return leaves
}

func TestListRootMatchesReference(t *testing.T) {
	sizes := []int{31, 32, 33, 63, 64, 65, 255, 256, 257, 1000, 1023, 1024, 1025}
	for n := 0; n <= 20; n++ {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		leaves := testLeaves(n)
		if got, want := ListRoot(leaves), refListRoot(leaves); got != want {
			t.Errorf("ListRoot of %d leaves = %x, reference says %x", n, got, want)
		}
	}
}

// TestListRFC6962Published checks against the Certificate Transparency test
// vectors published for RFC 6962, an independent source.
func TestListRFC6962Published(t *testing.T) {
	data := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	roots := []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	leaves := make([]Hash, len(data))
	for i, d := range data {
		b, err := hex.DecodeString(d)
		if err != nil {
			t.Fatal(err)
		}
		leaves[i] = LeafHash(b)
	}
	for n, want := range roots {
		if got := ListRoot(leaves[:n]); got != mustHash(t, want) {
			t.Errorf("ListRoot of the first %d published leaves = %x, published %s", n, got, want)
		}
	}
	paths := []struct {
		index, count int
		path         []string
	}{
		{0, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{5, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 3, []string{
			"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		}},
	}
	for _, tc := range paths {
		want := make([]Hash, len(tc.path))
		for i, s := range tc.path {
			want[i] = mustHash(t, s)
		}
		if got := ListPath(leaves[:tc.count], tc.index); !slices.Equal(got, want) {
			t.Errorf("ListPath(%d of %d) = %x, published %x", tc.index, tc.count, got, want)
		}
		root := mustHash(t, roots[tc.count])
		if err := VerifyList(leaves[tc.index], uint64(tc.index), uint64(tc.count), want, root); err != nil {
			t.Errorf("published path %d of %d: %v", tc.index, tc.count, err)
		}
	}
}

// listVector is one known-answer case of testdata/list_vectors.json.
type listVector struct {
	N          int         `json:"n"`
	LeafData   []string    `json:"leaf_data_hex"`
	LeafHashes []hexHash   `json:"leaf_hashes"`
	Root       hexHash     `json:"root"`
	Paths      [][]hexHash `json:"paths"` // Paths[i] is ListPath(leaves, i)
}

type listVectorFile struct {
	Comment string       `json:"comment"`
	Cases   []listVector `json:"cases"`
}

func TestListVectors(t *testing.T) {
	file := listVectorFile{
		Comment: "RFC 6962 list tree. Leaf i's data is the single byte i; leaf hash = SHA-256(0x00 || data); " +
			"node hash = SHA-256(0x01 || left || right); paths run from the leaf up to the root.",
	}
	for _, n := range []int{0, 1, 2, 3, 7} {
		leaves := testLeaves(n)
		v := listVector{N: n, LeafData: []string{}, LeafHashes: toHex(leaves), Root: hexHash(ListRoot(leaves)), Paths: [][]hexHash{}}
		for i := range n {
			v.LeafData = append(v.LeafData, hex.EncodeToString([]byte{byte(i)}))
			v.Paths = append(v.Paths, toHex(ListPath(leaves, i)))
		}
		if Hash(v.Root) != refListRoot(leaves) {
			t.Errorf("n=%d: ListRoot disagrees with the reference", n)
		}
		file.Cases = append(file.Cases, v)
	}
	checkVectors(t, "list_vectors.json", file)
}

func TestListPathsVerify(t *testing.T) {
	for n := 1; n <= 33; n++ {
		leaves := testLeaves(n)
		root := ListRoot(leaves)
		for i := range n {
			path := ListPath(leaves, i)
			if err := VerifyList(leaves[i], uint64(i), uint64(n), path, root); err != nil {
				t.Errorf("leaf %d of %d: %v", i, n, err)
			}
			if want := len(refListShape(i, n)); len(path) != want {
				t.Errorf("leaf %d of %d: path has %d hashes, the RFC split gives %d", i, n, len(path), want)
			}
		}
	}
}

func TestVerifyListRejects(t *testing.T) {
	other := LeafHash([]byte("not in the list"))
	type proof struct {
		leaf         Hash
		index, count uint64
		path         []Hash
		root         Hash
	}
	mutations := []struct {
		name   string
		minLen int // the least path length the mutation needs
		mutate func(p *proof)
	}{
		{"tampered leaf", 0, func(p *proof) { p.leaf[0] ^= 1 }},
		{"foreign leaf", 0, func(p *proof) { p.leaf = other }},
		{"index+1", 0, func(p *proof) { p.index++ }},
		{"index-1", 0, func(p *proof) { p.index-- }},
		{"count 0", 0, func(p *proof) { p.count = 0 }},
		{"truncated path (top)", 1, func(p *proof) { p.path = p.path[:len(p.path)-1] }},
		{"truncated path (bottom)", 1, func(p *proof) { p.path = p.path[1:] }},
		{"extended path", 0, func(p *proof) { p.path = append(p.path, other) }},
		{"tampered sibling", 1, func(p *proof) { p.path[len(p.path)/2][31] ^= 0x80 }},
		{"swapped siblings", 2, func(p *proof) { p.path[0], p.path[1] = p.path[1], p.path[0] }},
		{"wrong root", 0, func(p *proof) { p.root[5] ^= 1 }},
	}
	for n := 1; n <= 33; n++ {
		leaves := testLeaves(n)
		root := ListRoot(leaves)
		for i := range n {
			for _, m := range mutations {
				p := proof{leaves[i], uint64(i), uint64(n), slices.Clone(ListPath(leaves, i)), root}
				if len(p.path) < m.minLen || (m.name == "index-1" && i == 0) {
					continue
				}
				m.mutate(&p)
				err := VerifyList(p.leaf, p.index, p.count, p.path, p.root)
				requireProofError(t, fmt.Sprintf("%s on leaf %d of %d", m.name, i, n), err)
			}
		}
	}
}

// TestVerifyListWrongCount checks every wrong count. RFC 9162 verification
// binds the count only through the path's shape: when (index, c) turns the
// same way at every level as (index, count), the path and root are also a
// valid proof for a list of c (that is why a root must come with its count
// in a signed header). So a wrong count must fail exactly when the shape
// differs.
func TestVerifyListWrongCount(t *testing.T) {
	for n := 1; n <= 33; n++ {
		leaves := testLeaves(n)
		root := ListRoot(leaves)
		for i := range n {
			path := ListPath(leaves, i)
			for c := 1; c <= 40; c++ {
				if c == n {
					continue
				}
				err := VerifyList(leaves[i], uint64(i), uint64(c), path, root)
				sameShape := i < c && refListShape(i, c) == refListShape(i, n)
				switch {
				case sameShape && err != nil:
					t.Errorf("leaf %d: a list of %d has the same path shape as %d, yet: %v", i, c, n, err)
				case !sameShape:
					requireProofError(t, fmt.Sprintf("leaf %d of %d claimed in a list of %d", i, n, c), err)
				}
			}
		}
	}
}

func TestVerifyListMessages(t *testing.T) {
	leaves := testLeaves(7)
	root := ListRoot(leaves)
	path := ListPath(leaves, 3)
	tests := []struct {
		name         string
		index, count uint64
		path         []Hash
		root         Hash
		want         string
	}{
		{"index outside", 5, 3, path, root, "index 5 is outside a list of 3"},
		{"short path", 3, 7, path[:2], root, "path has 2 hashes, leaf 3 of a list of 7 needs 3"},
		{"long path", 3, 7, append(slices.Clone(path), root), root, "path has 4 hashes, leaf 3 of a list of 7 needs 3"},
		{"empty list", 0, 0, nil, root, "a list of 0 leaves"},
		{"wrong root", 3, 7, path, Hash{}, "root mismatch"},
	}
	for _, tc := range tests {
		err := VerifyList(leaves[3], tc.index, tc.count, tc.path, tc.root)
		requireProofError(t, tc.name, err)
		if err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		}
	}
}

func TestListPathPanics(t *testing.T) {
	for _, tc := range []struct{ n, index int }{{0, 0}, {3, 3}, {3, -1}, {1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ListPath(%d leaves, %d) did not panic", tc.n, tc.index)
				}
			}()
			ListPath(testLeaves(tc.n), tc.index)
		}()
	}
}

func TestListRootAllocates(t *testing.T) {
	leaves := testLeaves(10_000)
	if a := testing.AllocsPerRun(10, func() { ListRoot(leaves) }); a != 0 {
		t.Errorf("ListRoot allocates %v times per call, want 0", a)
	}
	data := make([]byte, 300)
	if a := testing.AllocsPerRun(10, func() { LeafHash(data) }); a != 0 {
		t.Errorf("LeafHash allocates %v times per call, want 0", a)
	}
}
