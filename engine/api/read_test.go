package api

import (
	"encoding/hex"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// TestAccountAnswerInterbank: the account answer shows trust lines with their
// limits, escrowed amounts and flags, the open escrows, the regular key, the
// signer list and the account flags; a plain account shows empty lists.
func TestAccountAnswerInterbank(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	_, _, acct := seed(t, ts.f)
	issuer := testKey(t, 9).AccountID()
	usd := txn.Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: issuer}
	eur := txn.Asset{Code: [3]byte{'E', 'U', 'R'}, Issuer: issuer}
	regular, signer := testKey(t, 10).PublicKey(), testKey(t, 11).PublicKey()
	ts.f.mu.Lock()
	ts.f.mu.accounts[acct] = ledger.Account{ID: acct, Seq: 3, Flags: ledger.FlagMasterKeySet | ledger.FlagDisableMaster, Native: 1000,
		Issued: []ledger.Balance{
			{Asset: eur, Limit: 500, Flags: txn.LineFlagAuthorized | txn.LineFlagFrozen},
			{Asset: usd, Amount: 42, Limit: 100, Escrowed: 8},
		},
		Ext: &ledger.AccountExt{NativeEscrowed: 77, EscrowCount: 3, RegularKey: regular, Quorum: 2,
			Signers: []txn.SignerEntry{{PublicKey: signer, Weight: 2}}}}
	ts.f.mu.Unlock()

	m := ts.do(t, "GET", "/v1/account/"+acct.String(), nil, nil).json(t)
	if bal, _ := m["balances"].([]any); len(bal) != 2 { // STL and USD: the empty EUR line holds no balance
		t.Errorf("balances %v", m["balances"])
	}
	if names, _ := m["flag_names"].([]any); len(names) != 2 || names[0] != "master_key_set" || names[1] != "disable_master" {
		t.Errorf("flag names %v", m["flag_names"])
	}
	lines, _ := m["trust_lines"].([]any)
	if len(lines) != 2 {
		t.Fatalf("trust lines %v", m["trust_lines"])
	}
	eurLine, usdLine := lines[0].(map[string]any), lines[1].(map[string]any)
	if eurLine["asset"] != eur.String() || eurLine["balance"] != "0" || eurLine["limit"] != "500" {
		t.Errorf("EUR line %v", eurLine)
	}
	if f, _ := eurLine["flags"].([]any); len(f) != 2 || f[0] != "authorized" || f[1] != "frozen" {
		t.Errorf("EUR line flags %v", eurLine["flags"])
	}
	if usdLine["balance"] != "42" || usdLine["limit"] != "100" || usdLine["escrowed"] != "8" {
		t.Errorf("USD line %v", usdLine)
	}
	if e, _ := m["escrows"].(map[string]any); e["count"] != 3.0 || e["native_escrowed"] != "77" {
		t.Errorf("escrows %v", m["escrows"])
	}
	if m["regular_key"] != hex.EncodeToString(regular[:]) {
		t.Errorf("regular key %v", m["regular_key"])
	}
	sl, _ := m["signer_list"].(map[string]any)
	if signers, _ := sl["signers"].([]any); sl["quorum"] != 2.0 || len(signers) != 1 ||
		signers[0].(map[string]any)["public_key"] != hex.EncodeToString(signer[:]) || signers[0].(map[string]any)["weight"] != 2.0 {
		t.Errorf("signer list %v", m["signer_list"])
	}

	plain := testKey(t, 12).AccountID()
	ts.f.mu.Lock()
	ts.f.mu.accounts[plain] = ledger.Account{ID: plain, Seq: 1, Native: 5}
	ts.f.mu.Unlock()
	m = ts.do(t, "GET", "/v1/account/"+plain.String(), nil, nil).json(t)
	if l, ok := m["trust_lines"].([]any); !ok || len(l) != 0 || m["regular_key"] != nil || m["signer_list"] != nil {
		t.Errorf("plain account %v", m)
	}
	if e, _ := m["escrows"].(map[string]any); e["count"] != 0.0 {
		t.Errorf("plain account escrows %v", m["escrows"])
	}
}

// TestTxAnswerFailedLeg: a multi-leg receipt's failing leg is shown; other
// receipts have no failed_leg.
func TestTxAnswerFailedLeg(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	committed, _, _ := seed(t, ts.f)
	if m := ts.do(t, "GET", "/v1/tx/"+committed.Hash().String(), nil, nil).json(t); m["failed_leg"] != nil {
		t.Errorf("payment answer has failed_leg %v", m["failed_leg"])
	}
	ts.f.mu.Lock()
	rec := ts.f.mu.txs[committed.Hash()]
	rec.Receipt.Result, rec.Receipt.Leg = codes.InsufficientFunds, 2
	ts.f.mu.Unlock()
	m := ts.do(t, "GET", "/v1/tx/"+committed.Hash().String(), nil, nil).json(t)
	if m["result"] != "insufficient_funds" || m["failed_leg"] != 2.0 {
		t.Errorf("answer %v", m)
	}
}
