package lightclient_test

import (
	"encoding/json"
	"os"
	"testing"

	"settle/consensus/lightclient"
)

// TestVectors checks every case of testdata/proofs.json, the file a verifier
// in another language checks itself against; consensus/cluster's
// TestProofsFromLiveCluster -update-vectors regenerates it from a live
// cluster. Each refusal must be for its stated reason, not any error.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/proofs.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs lightclient.Vectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, v := range vs.Cases {
		if err := v.Check(vs.Trust()); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
		kinds[v.Want]++
	}
	for _, k := range []string{"ok", "malformed", "wrong_chain", "certificate", "anchor", "path", "content"} {
		if kinds[k] == 0 {
			t.Errorf("no case wants %q", k)
		}
	}
	t.Logf("%d cases: %v", len(vs.Cases), kinds)
}
