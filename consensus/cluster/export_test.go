package cluster

import "settle/consensus/hotstuff"

// StoredBlockAt is what block sync serves for a committed height.
func (d *Driver) StoredBlockAt(height uint64) (*hotstuff.Block, bool) { return d.st.BlockAt(height) }
