package sim

import (
	"fmt"

	"settle/consensus/hotstuff"
)

// Packet is one message in flight between two nodes.
type Packet struct {
	Seq       uint64
	From, To  int // node ids
	FromVal   hotstuff.ValidatorIndex
	Kind      string
	Bytes     []byte
	DeliverAt int64
}

// Network is the virtual network: packets in flight, partitions and faults.
type Network struct {
	c        *Cluster
	Now      int64 // virtual time in ticks
	InFlight []*Packet
	seq      uint64
	groups   map[int]int // node id → partition group; absent means group 0

	DropPct, DupPct int   // per packet, in percent
	DelayMax        int64 // ticks; 0 delivers at the next delivery round
	// Manual keeps every packet until a test delivers or drops it.
	Manual bool
}

func (net *Network) send(from, to *Node, m hotstuff.Message) {
	copies := 1
	if !net.Manual {
		if net.c.rng.Intn(100) < net.DropPct {
			return
		}
		if net.c.rng.Intn(100) < net.DupPct {
			copies = 2
		}
	}
	b := hotstuff.EncodeMessage(m)
	for i := 0; i < copies; i++ {
		net.seq++
		delay := int64(0)
		if net.DelayMax > 0 {
			delay = net.c.rng.Int63n(net.DelayMax + 1)
		}
		net.InFlight = append(net.InFlight, &Packet{Seq: net.seq, From: from.ID, To: to.ID, FromVal: from.Val,
			Kind: describe(m), Bytes: b, DeliverAt: net.Now + delay})
	}
}

// Connected reports whether two nodes are in the same partition group.
func (net *Network) Connected(a, b int) bool { return net.groups[a] == net.groups[b] }

// Partition puts each listed group of node ids in its own group; others stay in 0.
func (net *Network) Partition(groups ...[]int) {
	clear(net.groups)
	for i, g := range groups {
		for _, id := range g {
			net.groups[id] = i + 1
		}
	}
}

// Heal removes every partition.
func (net *Network) Heal() { clear(net.groups) }

// Take removes and returns the packet at index i.
func (net *Network) Take(i int) *Packet {
	p := net.InFlight[i]
	net.InFlight = append(net.InFlight[:i], net.InFlight[i+1:]...)
	return p
}

// deliverDue delivers, in random order, every packet due by Now, dropping those
// that cross a partition. Packets sent meanwhile wait for the next round.
func (net *Network) deliverDue(check func()) {
	var due, later []*Packet
	for _, p := range net.InFlight {
		if p.DeliverAt <= net.Now {
			due = append(due, p)
		} else {
			later = append(later, p)
		}
	}
	net.InFlight = later
	net.c.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	for _, p := range due {
		if net.Connected(p.From, p.To) {
			net.c.Deliver(p)
			check()
		}
	}
}

// describe is a short, canonical description of a message for logs.
func describe(m hotstuff.Message) string {
	switch m := m.(type) {
	case *hotstuff.Proposal:
		tc := ""
		if m.TC != nil {
			tc = fmt.Sprintf(" tc=%d", m.TC.View)
		}
		return fmt.Sprintf("proposal v%d h%d %s qc=%d%s", m.Block.View, m.Block.Height, m.Block.Hash(), m.Block.QC.View, tc)
	case *hotstuff.Vote:
		return fmt.Sprintf("vote v%d %s by %d", m.View, m.BlockHash, m.Voter)
	case *hotstuff.Timeout:
		tc := ""
		if m.LastTC != nil {
			tc = fmt.Sprintf(" tc=%d", m.LastTC.View)
		}
		return fmt.Sprintf("timeout v%d hqc=%d%s by %d", m.View, m.HighQC.View, tc, m.Sender)
	case *hotstuff.SyncRequest:
		return fmt.Sprintf("sync-request %s", m.Hash)
	case *hotstuff.SyncResponse:
		return fmt.Sprintf("sync-response blocks=%d", len(m.Blocks))
	case *hotstuff.RangeRequest:
		return fmt.Sprintf("range-request from=%d count=%d", m.FromHeight, m.CountMax)
	}
	return fmt.Sprintf("%T", m)
}
