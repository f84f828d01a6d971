// Command settlectl is a client for a Settle validator's HTTP API.
//
//	settlectl keygen [-out FILE]
//	settlectl pay [-key-file FILE] -to ADDRESS -amount N [-asset STL|CODE/ISSUER] [-fee N] [-memo TEXT] [-queue urgent|normal [-queue-blocks N]] [-wait]
//	settlectl account ADDRESS
//	settlectl queue ADDRESS
//	settlectl queue-cancel [-key-file FILE] -seq N [-wait]
//	settlectl queue-priority [-key-file FILE] -seq N -priority urgent|normal [-wait]
//	settlectl tx HASH
//	settlectl status
//	settlectl verify tx -genesis FILE HASH
//	settlectl verify account -genesis FILE [-height H] ADDRESS
//
// -node (default http://127.0.0.1:7700 or $SETTLE_NODE) selects the validator; an
// https:// node is verified against -tls-ca (or $SETTLE_TLS_CA; default: the
// system roots), and -tls-cert/-tls-key ($SETTLE_TLS_CERT, $SETTLE_TLS_KEY) give
// the client certificate a validator may require. pay signs with the key in
// -key-file (mode 0600) or else the hex seed in $SETTLE_KEY: a secret never goes
// on the command line.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"settle/engine/client"
	"settle/engine/tlsfiles"
	"settle/engine/txn"
	"settle/internal/cli"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "keygen":
		err = keygen(args)
	case "pay":
		err = payCmd(args)
	case "account":
		err = getCmd("account", args, func(a string) string { return "/v1/account/" + a })
	case "queue":
		err = getCmd("queue", args, func(a string) string { return "/v1/account/" + a + "/queue" })
	case "queue-cancel", "queue-priority":
		err = queueCmd(os.Args[1], args)
	case "tx":
		err = getCmd("tx", args, func(h string) string { return "/v1/tx/" + h })
	case "status":
		err = getCmd("status", append(args, "-"), func(string) string { return "/v1/status" })
	case "report":
		err = reportCmd(args)
	case "verify":
		err = verifyCmd(args, os.Stdout)
	case "version":
		fmt.Println(cli.Version("settlectl"))
		return
	default:
		if cli.IsHelp(os.Args[1]) {
			usage()
			return
		}
		fmt.Fprintf(os.Stderr, "settlectl: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(cli.ExitUsage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the subcommand printed its usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "settlectl:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  settlectl keygen [-out FILE]
  settlectl pay [-node URL] [-key-file FILE] -to ADDRESS -amount N [-asset STL|CODE/ISSUER] [-fee N] [-memo TEXT]
                [-queue urgent|normal [-queue-blocks N]] [-wait]
  settlectl account [-node URL] ADDRESS
  settlectl queue [-node URL] ADDRESS
  settlectl queue-cancel [-node URL] [-key-file FILE] -seq N [-wait]
  settlectl queue-priority [-node URL] [-key-file FILE] -seq N -priority urgent|normal [-wait]
  settlectl tx [-node URL] HASH
  settlectl status [-node URL]
  settlectl report [-node URL] [-account ADDRESS] [-json] FROM TO
  settlectl verify tx [-node URL] -genesis FILE HASH
  settlectl verify account [-node URL] -genesis FILE [-height H] ADDRESS

  settlectl version

every command that talks to a node also takes -tls-ca FILE, -tls-cert FILE, -tls-key FILE;
-node takes a URL (http://host:port, https://host:port) or host:port (http)

pay signs with -key-file FILE (mode 0600, from keygen -out) or else the hex
seed in $SETTLE_KEY; a key is never taken from the command line. pay -queue
sends a queued_payment: if liquidity is short it waits in the RTGS queue (result
"queued") for up to -queue-blocks blocks after its last valid height; queue
lists an account's waiting payments, queue-cancel and queue-priority change
one of the sender's, named by its sequence (docs/ledger.md).

environment:
  SETTLE_NODE      the default -node (else http://127.0.0.1:7700)
  SETTLE_KEY       pay's signing seed (hex) when -key-file is not given
  SETTLE_TLS_CA    the default -tls-ca
  SETTLE_TLS_CERT  the default -tls-cert
  SETTLE_TLS_KEY   the default -tls-key
  SETTLE_GENESIS   verify's default -genesis

verify fetches a proof from the node and checks it against the genesis alone
(a quorum of its validators' signatures, the header, the Merkle path), so the
node asked need not be trusted; it exits 1 with REFUSED and the reason if the
proof does not hold.`)
}

func defaultNode() string {
	if v := os.Getenv("SETTLE_NODE"); v != "" {
		return v
	}
	return "http://127.0.0.1:7700"
}

type keyFile struct {
	Address   string `json:"address"`
	PublicKey string `json:"public_key"`
	Seed      string `json:"seed"`
}

func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	out := fs.String("out", "", "write the key to FILE (mode 0600) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	k, _ := txn.KeyFromSeed(seed[:])
	pub := k.PublicKey()
	b, _ := json.MarshalIndent(keyFile{Address: k.AccountID().String(), PublicKey: hex.EncodeToString(pub[:]), Seed: hex.EncodeToString(seed[:])}, "", "  ")
	if *out == "" {
		fmt.Println(string(b))
		return nil
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Println(k.AccountID())
	return nil
}

// keyEnv holds the sender's hex seed when no -key-file is given.
const keyEnv = "SETTLE_KEY"

// senderKey loads the sender's key from a key file or else $SETTLE_KEY, never
// from argv, where the process list and shell history would show it. A key
// file that group or others may read is refused, as validator keys are
// (engine/node.LoadValidatorKey). Errors never include the key.
func senderKey(file string, getenv func(string) string) (txn.Key, error) {
	var seedHex, from, address string
	switch {
	case file != "":
		kf, err := readKeyFile(file)
		if err != nil {
			return txn.Key{}, err
		}
		seedHex, from, address = kf.Seed, "key file "+file, kf.Address
	case getenv(keyEnv) != "":
		seedHex, from = strings.TrimSpace(getenv(keyEnv)), "$"+keyEnv
	default:
		return txn.Key{}, fmt.Errorf("the sender's key is needed: -key-file FILE (as settlectl keygen -out writes it) or $%s (its hex seed)", keyEnv)
	}
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != 32 {
		return txn.Key{}, fmt.Errorf("%s: the seed must be 64 hex digits", from)
	}
	k, err := txn.KeyFromSeed(seed)
	if err != nil {
		return txn.Key{}, fmt.Errorf("%s: %w", from, err)
	}
	if address != "" && address != k.AccountID().String() {
		return txn.Key{}, fmt.Errorf("%s: its address %s is not its seed's", from, address)
	}
	return k, nil
}

func readKeyFile(path string) (keyFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return keyFile{}, fmt.Errorf("key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return keyFile{}, fmt.Errorf("key file %s has permissions %o: it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return keyFile{}, fmt.Errorf("key file: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return keyFile{}, fmt.Errorf("key file %s is not a settlectl key file (JSON with a \"seed\")", path)
	}
	return kf, nil
}

func payCmd(args []string) error {
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	nf := addNodeFlags(fs)
	fs.String("key", "", "no longer accepted: a seed in argv shows in the process list and shell history (use -key-file or $"+keyEnv+")")
	keyPath := fs.String("key-file", "", "sender's key file, mode 0600 (from keygen -out); default: the hex seed in $"+keyEnv)
	to := fs.String("to", "", "destination address")
	amount := fs.String("amount", "", "amount in minor units")
	asset := fs.String("asset", txn.NativeCode, "asset: STL or CODE/ISSUER")
	fee := fs.Uint64("fee", 0, "fee in native minor units (default: the node's current minimum)")
	memo := fs.String("memo", "", "memo text (at most 512 bytes)")
	validFor := fs.Uint64("valid-for", 1000, "blocks after the current height during which the tx may be included")
	queue := fs.String("queue", "", `"urgent" or "normal": send a queued_payment, which waits in the RTGS queue when liquidity is short`)
	queueBlocks := fs.Uint64("queue-blocks", 0, "with -queue: blocks after the last valid height it may still wait (at most 1,000,000)")
	wait := fs.Bool("wait", false, "wait until the transaction is committed and print its receipt")
	if err := fs.Parse(args); err != nil {
		return err
	}
	prio, queued := txn.PriorityFromName(*queue)
	if *queue != "" && !queued {
		return fmt.Errorf("-queue %q must be urgent or normal", *queue)
	}
	if *queueBlocks > 0 && !queued {
		return errors.New("-queue-blocks needs -queue")
	}
	var keyInArgv bool
	fs.Visit(func(f *flag.Flag) { keyInArgv = keyInArgv || f.Name == "key" })
	if keyInArgv {
		return fmt.Errorf("-key is no longer accepted: a seed on the command line shows in the process list and shell history; use -key-file FILE (settlectl keygen -out FILE writes one) or put the hex seed in $%s", keyEnv)
	}
	key, err := senderKey(*keyPath, os.Getenv)
	if err != nil {
		return err
	}
	c, err := nf.client()
	if err != nil {
		return err
	}
	tx, err := buildPayment(c, key, *to, *amount, *asset, *memo, *fee, *validFor)
	if err != nil {
		return err
	}
	if queued {
		tx.Type, tx.Priority, tx.QueueUntil = txn.TypeQueuedPayment, prio, tx.LastValid+*queueBlocks
		if err := txn.Sign(tx, key); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	st, err := c.Status(ctx)
	cancel()
	if err != nil {
		return err
	}
	return submitAndWait(c, tx, *wait, st.Height)
}

// submitAndWait submits a signed transaction, prints the answer and, with
// wait, follows the stream from height until it commits.
func submitAndWait(c *client.Client, tx *txn.Tx, wait bool, height uint64) error {
	if err := payWith(c, tx); err != nil {
		return err
	}
	if !wait {
		return nil
	}
	return waitCommitted(c, tx.Hash(), int64(height), 30*time.Second)
}

// queueCmd sends queue_cancel or queue_priority_set for one of the sender's
// queued transactions.
func queueCmd(name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	nf := addNodeFlags(fs)
	keyPath := fs.String("key-file", "", "sender's key file, mode 0600 (from keygen -out); default: the hex seed in $"+keyEnv)
	seq := fs.Uint64("seq", 0, "sequence of the sender's queued transaction")
	priority := fs.String("priority", "", `queue-priority: "urgent" or "normal"`)
	fee := fs.Uint64("fee", 0, "fee in native minor units (default: the node's current minimum)")
	wait := fs.Bool("wait", false, "wait until the transaction is committed and print its receipt")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seq == 0 {
		return fmt.Errorf("%s needs -seq, the sequence of the queued transaction", name)
	}
	prio, ok := txn.PriorityFromName(*priority)
	switch {
	case name == "queue-priority" && !ok:
		return fmt.Errorf("-priority %q must be urgent or normal", *priority)
	case name == "queue-cancel" && *priority != "":
		return errors.New("queue-cancel takes no -priority")
	}
	key, err := senderKey(*keyPath, os.Getenv)
	if err != nil {
		return err
	}
	c, err := nf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	acc, err := c.Account(ctx, key.AccountID())
	if err != nil {
		return fmt.Errorf("sender account: %w", err)
	}
	if *fee == 0 {
		*fee = st.MinFee
	}
	tx := &txn.Tx{Type: txn.TypeQueueCancel, ChainID: st.ChainID, Sender: key.AccountID(), Seq: uint64(acc.Sequence),
		Fee: *fee, LastValid: st.Height + 1000, QueueSeq: *seq}
	if name == "queue-priority" {
		tx.Type, tx.Priority = txn.TypeQueuePrioritySet, prio
	}
	if err := txn.Sign(tx, key); err != nil {
		return err
	}
	return submitAndWait(c, tx, *wait, st.Height)
}

// payWith submits a signed payment in its JSON form and prints the answer.
func payWith(c *client.Client, tx *txn.Tx) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	h, err := c.Submit(ctx, tx)
	if err != nil {
		return err
	}
	fmt.Printf("{\"hash\":\"%s\",\"status\":\"accepted\"}\n", h)
	return nil
}

// requestTimeout bounds one request to the node.
const requestTimeout = 30 * time.Second

// nodeFlags are the flags of every command that talks to a validator.
type nodeFlags struct {
	node string
	tls  tlsfiles.Client
}

func addNodeFlags(fs *flag.FlagSet) *nodeFlags {
	f := &nodeFlags{}
	fs.StringVar(&f.node, "node", defaultNode(), "validator API: host:port, http://host:port, or https://host:port for TLS (env SETTLE_NODE)")
	fs.StringVar(&f.tls.CAFile, "tls-ca", os.Getenv("SETTLE_TLS_CA"), "PEM CA bundle that verifies an https node (default: the system roots)")
	fs.StringVar(&f.tls.CertFile, "tls-cert", os.Getenv("SETTLE_TLS_CERT"), "client certificate (PEM), for a node that requires one")
	fs.StringVar(&f.tls.KeyFile, "tls-key", os.Getenv("SETTLE_TLS_KEY"), "the client certificate's key (PEM, mode 0600)")
	return f
}

// client builds the API client (engine/client) the flags describe.
func (f *nodeFlags) client() (*client.Client, error) {
	c, err := client.New(f.node)
	if err != nil || f.tls == (tlsfiles.Client{}) {
		return c, err
	}
	if !strings.HasPrefix(c.Base(), "https://") {
		return nil, fmt.Errorf("-tls-ca, -tls-cert and -tls-key need an https:// node, not %q", f.node)
	}
	tc, err := f.tls.Config()
	if err != nil {
		return nil, err
	}
	return client.New(f.node, client.WithTLS(tc))
}

func buildPayment(c *client.Client, key txn.Key, to, amount, asset, memo string, fee, validFor uint64) (*txn.Tx, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	acc, err := c.Account(ctx, key.AccountID())
	if err != nil {
		return nil, fmt.Errorf("sender account: %w", err)
	}
	dest, err := txn.ParseAddress(to)
	if err != nil {
		return nil, err
	}
	amt, err := txn.ParseUint(amount)
	if err != nil {
		return nil, fmt.Errorf("amount: %w", err)
	}
	as, err := txn.ParseAsset(asset)
	if err != nil {
		return nil, err
	}
	if fee == 0 {
		fee = st.MinFee
	}
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: st.ChainID, Sender: key.AccountID(), Seq: uint64(acc.Sequence),
		Fee: fee, LastValid: st.Height + validFor, Memo: []byte(memo), Dest: dest, Asset: as, Amount: amt}
	if err := txn.Sign(tx, key); err != nil {
		return nil, err
	}
	return tx, nil
}

// waitCommitted follows the node's event stream until the transaction
// commits (from height from; negative: the head), then prints its receipt.
func waitCommitted(c *client.Client, h txn.Hash, from int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := c.WaitCommitted(ctx, h, from); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("transaction %s not committed within %v", h, timeout)
		}
		return err
	}
	b, err := c.Raw(ctx, "/v1/tx/"+h.String())
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(string(b)))
	return nil
}

func getCmd(name string, args []string, path func(string) string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	nf := addNodeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s takes one argument", name)
	}
	c, err := nf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	b, err := c.Raw(ctx, path(fs.Arg(0)))
	if err != nil {
		return err
	}
	var v any
	if json.Unmarshal(b, &v) == nil {
		b, _ = json.MarshalIndent(v, "", "  ")
	}
	fmt.Println(string(b))
	return nil
}
