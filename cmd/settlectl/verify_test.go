package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"settle/consensus/lightclient"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
)

// TestVerifyCommand runs `settlectl verify` over real HTTP against a server
// that answers with each proof of consensus/lightclient's test vectors: the
// valid ones print VERIFIED, every tampered one is refused with REFUSED and its
// reason, trusting only the genesis file given with -genesis.
func TestVerifyCommand(t *testing.T) {
	b, err := os.ReadFile("../../consensus/lightclient/testdata/proofs.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs lightclient.Vectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	genesisFor := func(chainID string) string {
		path := filepath.Join(dir, chainID+".json")
		if _, err := os.Stat(path); err == nil {
			return path
		}
		o := devnet.DefaultOptions()
		o.ChainID, o.Accounts = chainID, 1
		for i, k := range vs.Validators {
			o.Validators = append(o.Validators, ledger.GenesisValidator{Name: "v" + string(rune('0'+i)), PublicKey: hex.EncodeToString(k)})
		}
		if err := node.WriteJSON(path, devnet.Genesis(o), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	refusals := map[string]error{"malformed": lightclient.ErrMalformed, "wrong_chain": lightclient.ErrWrongChain,
		"certificate": lightclient.ErrCertificate, "anchor": lightclient.ErrAnchor, "path": lightclient.ErrPath, "content": lightclient.ErrContent}
	for _, v := range vs.Cases {
		t.Run(v.Name, func(t *testing.T) {
			var body any = v.Tx
			args := []string{"tx"}
			arg := hex.EncodeToString(v.TxHash)
			if v.Account != nil {
				body, args, arg = v.Account, []string{"account"}, v.Address
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/v1/proof/"+args[0]+"/"+arg) {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(body)
			}))
			defer srv.Close()
			chain := vs.ChainID
			if v.TrustChainID != "" {
				chain = v.TrustChainID
			}
			var out bytes.Buffer
			err := verifyCmd(append(args, "-node", srv.URL, "-genesis", genesisFor(chain), "-wait", "0s", arg), &out)
			if v.Want == "ok" {
				if err != nil || !strings.HasPrefix(out.String(), "VERIFIED") {
					t.Fatalf("refused a valid proof: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "REFUSED: ") || !errors.Is(err, refusals[v.Want]) {
				t.Fatalf("got %v, want REFUSED as %s", err, v.Want)
			}
		})
	}
}
