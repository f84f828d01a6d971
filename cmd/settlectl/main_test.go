package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"settle/engine/client"
	"settle/engine/devnet"
	"settle/internal/testnode"
)

// TestPayAgainstRealNode runs settlectl's pay, account and tx paths against a real
// single validator over real HTTP.
func TestPayAgainstRealNode(t *testing.T) {
	ctx := t.Context()
	_, addr := testnode.Start(t, 4, nil)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}

	from := devnet.DemoKey(devnet.ChainID, 0)
	keyPath := filepath.Join(t.TempDir(), "key.json")
	kf, _ := json.Marshal(keyFile{Address: from.AccountID().String(), Seed: hex.EncodeToString(from.Seed())})
	if err := os.WriteFile(keyPath, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := senderKey(keyPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	to := devnet.DemoKey(devnet.ChainID, 1).AccountID().String()
	tx, err := buildPayment(c, key, to, "2500", "STL", "invoice 42", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Seq != 1 || tx.Fee != devnet.DefaultOptions().BaseFee || string(tx.Memo) != "invoice 42" {
		t.Fatalf("built seq %d fee %d memo %q", tx.Seq, tx.Fee, tx.Memo)
	}
	if err := payWith(c, tx); err != nil {
		t.Fatal(err)
	}
	if err := waitCommitted(c, tx.Hash(), 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	acc, err := c.Account(ctx, tx.Dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.Balances) == 0 || acc.Balances[0].Amount != 1000000002500 {
		t.Fatalf("destination balances %+v", acc.Balances)
	}
	// A bad amount is refused before anything is sent.
	if _, err := buildPayment(c, key, to, "-1", "STL", "", 0, 100); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("negative amount: %v", err)
	}
}

// TestSenderKeyNeverFromArgv: pay takes its key from a private key file or
// $SETTLE_KEY; -key SEED, which put the secret in the process list and shell
// history, is refused with a sentence naming both, and no error shows a seed.
func TestSenderKeyNeverFromArgv(t *testing.T) {
	dir := t.TempDir()
	k := devnet.DemoKey(devnet.ChainID, 0)
	seed := hex.EncodeToString(k.Seed())
	write := func(name string, perm os.FileMode, kf keyFile) string {
		path := filepath.Join(dir, name)
		b, _ := json.Marshal(kf)
		if err := os.WriteFile(path, b, perm); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, perm) // whatever the umask
		return path
	}
	good := write("good.json", 0o600, keyFile{Address: k.AccountID().String(), Seed: seed})
	open := write("open.json", 0o644, keyFile{Seed: seed})
	wrongAddr := write("wrong.json", 0o600, keyFile{Address: devnet.DemoKey(devnet.ChainID, 1).AccountID().String(), Seed: seed})
	notKey := filepath.Join(dir, "not.json")
	os.WriteFile(notKey, []byte("hello"), 0o600)
	for _, tc := range []struct {
		name, file, env, want string // want "": the demo key
	}{
		{"key file", good, "", ""},
		{"file wins over env", good, "00", ""},
		{"env", "", seed, ""},
		{"env with newline", "", seed + "\n", ""},
		{"readable by others", open, "", "has permissions 644: it must be readable by its owner only (chmod 600)"},
		{"address mismatch", wrongAddr, "", "is not its seed's"},
		{"not a key file", notKey, "", "is not a settlectl key file"},
		{"missing file", filepath.Join(dir, "nope.json"), "", "key file: stat"},
		{"bad env", "", "xyz", "$SETTLE_KEY: the seed must be 64 hex digits"},
		{"short env", "", "abcd", "$SETTLE_KEY: the seed must be 64 hex digits"},
		{"nothing", "", "", "the sender's key is needed: -key-file FILE (as settlectl keygen -out writes it) or $SETTLE_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := senderKey(tc.file, func(name string) string {
				if name == keyEnv {
					return tc.env
				}
				return ""
			})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && got.AccountID() != k.AccountID():
				t.Fatalf("got account %s, want %s", got.AccountID(), k.AccountID())
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), seed):
				t.Fatalf("the error shows the seed: %v", err)
			}
		})
	}
	// The old flag: refused before anything is read or sent.
	err := payCmd([]string{"-node", "http://127.0.0.1:1", "-key", seed, "-to", k.AccountID().String(), "-amount", "1"})
	if err == nil || !strings.Contains(err.Error(), "-key is no longer accepted") || !strings.Contains(err.Error(), "-key-file") ||
		!strings.Contains(err.Error(), "$SETTLE_KEY") || strings.Contains(err.Error(), seed) {
		t.Fatalf("pay -key SEED: %v", err)
	}
}

// TestQueueCommandsAgainstRealNode: pay -queue sends a queued_payment that
// waits (more than the sender holds), queue lists it, queue-priority makes
// it urgent and queue-cancel removes it, each committed on a real validator.
func TestQueueCommandsAgainstRealNode(t *testing.T) {
	ctx := t.Context()
	_, addr := testnode.Start(t, 4, nil)
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	from := devnet.DemoKey(devnet.ChainID, 2)
	keyPath := filepath.Join(t.TempDir(), "key.json")
	kf, _ := json.Marshal(keyFile{Address: from.AccountID().String(), Seed: hex.EncodeToString(from.Seed())})
	if err := os.WriteFile(keyPath, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	to := devnet.DemoKey(devnet.ChainID, 3).AccountID().String()
	node := []string{"-node", addr, "-key-file", keyPath, "-wait"}
	if err := payCmd(append(node, "-to", to, "-amount", "4000000000000000", "-queue", "normal", "-queue-blocks", "50")); err != nil {
		t.Fatal(err)
	}
	b, err := c.Raw(ctx, "/v1/account/"+from.AccountID().String()+"/queue")
	if err != nil || !strings.Contains(string(b), `"priority":"normal"`) {
		t.Fatalf("queue: %s (%v)", b, err)
	}
	if err := queueCmd("queue-priority", append(node, "-seq", "1", "-priority", "urgent")); err != nil {
		t.Fatal(err)
	}
	if b, _ = c.Raw(ctx, "/v1/account/"+from.AccountID().String()+"/queue"); !strings.Contains(string(b), `"priority":"urgent"`) {
		t.Fatalf("after queue-priority: %s", b)
	}
	if err := queueCmd("queue-cancel", append(node, "-seq", "1")); err != nil {
		t.Fatal(err)
	}
	if b, _ = c.Raw(ctx, "/v1/account/"+from.AccountID().String()+"/queue"); strings.Contains(string(b), `"priority"`) {
		t.Fatalf("after queue-cancel: %s", b)
	}
	if err := queueCmd("queue-priority", append(node, "-seq", "1")); err == nil {
		t.Fatal("queue-priority without -priority was accepted")
	}
}
