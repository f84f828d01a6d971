package sim

import (
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"strings"

	"settle/consensus/hotstuff"
)

// Interaction runs the commands of golden test files against a cluster whose
// network delivers nothing on its own: every packet waits until a command
// delivers or drops it, and leaders wait for a propose command.
//
//	init n=4 [twins=2] [byz=1:double-vote] [unsafe]
//	tick [nodes=n0,n1] [count=N]            tick nodes (all running ones by default)
//	propose n1 [payload=x]                  answer n1's pending payload request
//	deliver [from=n1] [to=n2] [kind=vote] [keep]  deliver matching packets, oldest first
//	drop [from=..] [to=..] [kind=..]        drop matching packets
//	stabilize                               deliver everything until nothing is in flight
//	partition n0 n3 | heal                  cut the listed nodes off (packets across are lost)
//	crash n1 | restart n1 [wipe]
//	status | inflight
type Interaction struct {
	Unsafe bool // force the unsafe commit rule (Twins regression)
	c      *Cluster
	out    []string
}

// Run executes one command and returns its canonical output.
func (it *Interaction) Run(cmd string, args []string) (string, error) {
	it.out = it.out[:0]
	if cmd != "init" && it.c == nil {
		return "", fmt.Errorf("%s before init", cmd)
	}
	kv, flags := parseArgs(args)
	var err error
	switch cmd {
	case "init":
		err = it.init(kv, flags)
	case "tick":
		err = it.tick(kv)
	case "propose":
		err = it.propose(args, kv)
	case "deliver", "drop":
		err = it.deliverOrDrop(cmd == "deliver", kv, flags)
	case "stabilize":
		err = it.stabilize()
	case "crash", "restart":
		err = it.crashRestart(cmd, args, flags)
	case "partition":
		var ids []int
		for _, name := range args {
			if n := it.node(name); n != nil {
				ids = append(ids, n.ID)
			}
		}
		it.c.Net.Partition(ids)
	case "heal":
		it.c.Net.Heal()
	case "status":
		it.status()
	case "inflight":
		for _, p := range it.c.Net.InFlight {
			it.out = append(it.out, fmt.Sprintf("%s -> %s: %s", it.c.Nodes[p.From].Name, it.c.Nodes[p.To].Name, p.Kind))
		}
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		return "", err
	}
	if v := it.c.Violation; v != nil && !strings.Contains(strings.Join(it.out, "\n"), "VIOLATION") {
		it.out = append(it.out, "VIOLATION "+v.Error())
	}
	return strings.Join(it.out, "\n"), nil
}

// Cluster returns the cluster (after init).
func (it *Interaction) Cluster() *Cluster { return it.c }

func parseArgs(args []string) (map[string]string, map[string]bool) {
	kv, flags := map[string]string{}, map[string]bool{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		} else {
			flags[a] = true
		}
	}
	return kv, flags
}

func (it *Interaction) init(kv map[string]string, flags map[string]bool) error {
	n, err := strconv.Atoi(kv["n"])
	if err != nil {
		return fmt.Errorf("init needs n=: %w", err)
	}
	opts := Options{Validators: n, ManualPropose: true, UnsafeCommitRule: it.Unsafe || flags["unsafe"],
		Byzantine: map[hotstuff.ValidatorIndex]Behavior{}, Log: func(l string) { it.out = append(it.out, l) }}
	if t, ok := kv["twins"]; ok {
		v, _ := strconv.Atoi(t)
		opts.Twins = append(opts.Twins, hotstuff.ValidatorIndex(v))
	}
	if b, ok := kv["byz"]; ok {
		idx, name, _ := strings.Cut(b, ":")
		v, _ := strconv.Atoi(idx)
		opts.Byzantine[hotstuff.ValidatorIndex(v)] = behaviorByName(name)
	}
	c, err := NewCluster(opts, rand.New(rand.NewSource(1)))
	if err != nil {
		return err
	}
	c.Net.Manual = true
	it.c = c
	return nil
}

func behaviorByName(name string) Behavior {
	for i, n := range behaviorNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

func (it *Interaction) nodes(list string) ([]*Node, error) {
	if list == "" || list == "all" {
		return it.c.Nodes, nil
	}
	var out []*Node
	for _, name := range strings.Split(list, ",") {
		n := it.node(name)
		if n == nil {
			return nil, fmt.Errorf("no node %q", name)
		}
		out = append(out, n)
	}
	return out, nil
}

func (it *Interaction) node(name string) *Node {
	for _, n := range it.c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (it *Interaction) tick(kv map[string]string) error {
	ns, err := it.nodes(kv["nodes"])
	if err != nil {
		return err
	}
	count := 1
	if s, ok := kv["count"]; ok {
		count, _ = strconv.Atoi(s)
	}
	for i := 0; i < count; i++ {
		for _, n := range ns {
			it.c.Tick(n)
		}
	}
	return nil
}

func (it *Interaction) propose(args []string, kv map[string]string) error {
	if len(args) == 0 || it.node(args[0]) == nil {
		return fmt.Errorf("propose needs a node")
	}
	n := it.node(args[0])
	payload := kv["payload"]
	if payload == "" && n.needPayload != nil {
		payload = fmt.Sprintf("%s-v%d", n.Name, n.needPayload.View)
	}
	if err := it.c.Propose(n, []byte(payload)); err != nil {
		it.out = append(it.out, fmt.Sprintf("%s: propose error: %s", n.Name, shortErr(err)))
	}
	return nil
}

// deliverOrDrop acts on the packets in flight when the command starts, oldest
// first; packets they cause wait for a later command.
func (it *Interaction) deliverOrDrop(deliver bool, kv map[string]string, flags map[string]bool) error {
	batch := append([]*Packet(nil), it.c.Net.InFlight...)
	sort.Slice(batch, func(i, j int) bool { return batch[i].Seq < batch[j].Seq })
	for _, p := range batch {
		if !it.matches(p, kv) {
			continue
		}
		if !flags["keep"] {
			it.remove(p)
		}
		if deliver && it.c.Net.Connected(p.From, p.To) {
			it.c.Deliver(p)
		}
	}
	return nil
}

func (it *Interaction) matches(p *Packet, kv map[string]string) bool {
	in := func(key, name string) bool {
		list, ok := kv[key]
		return !ok || strings.Contains(","+list+",", ","+name+",")
	}
	kind, _, _ := strings.Cut(p.Kind, " ")
	return in("from", it.c.Nodes[p.From].Name) && in("to", it.c.Nodes[p.To].Name) && in("kind", kind)
}

func (it *Interaction) remove(p *Packet) {
	for i, q := range it.c.Net.InFlight {
		if q == p {
			it.c.Net.Take(i)
			return
		}
	}
}

func (it *Interaction) stabilize() error {
	for round := 0; len(it.c.Net.InFlight) > 0; round++ {
		if round == 1000 {
			return fmt.Errorf("stabilize: still busy after %d rounds", round)
		}
		if err := it.deliverOrDrop(true, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

func (it *Interaction) crashRestart(cmd string, args []string, flags map[string]bool) error {
	if len(args) == 0 || it.node(args[0]) == nil {
		return fmt.Errorf("%s needs a node", cmd)
	}
	n := it.node(args[0])
	if cmd == "crash" {
		it.c.Crash(n)
		return nil
	}
	return it.c.Restart(n, flags["wipe"])
}

func (it *Interaction) status() {
	for _, n := range it.c.Nodes {
		if n.core == nil {
			it.out = append(it.out, fmt.Sprintf("%s: down committed=%d", n.Name, n.committedHeight))
			continue
		}
		s := n.core.Safety()
		it.out = append(it.out, fmt.Sprintf("%s: view=%d committed=%d voted=%d timeout=%d hqc=%d recovering=%t",
			n.Name, n.core.View(), n.committedHeight, s.LastVotedView, s.LastTimeoutView, s.HighQC.View, n.core.Recovering()))
	}
}
