package hotstuff

// Effects are the actions a driver takes for a Ready. Perform calls them in the
// one order the core requires, so every driver (the cluster's, the simulator's)
// runs the same sequence and none can send before it syncs.
type Effects interface {
	// Persist makes the safety state (when non-nil) and the blocks durable. It
	// returns only once they are: nothing of this Ready leaves before.
	Persist(safety *SafetyState, blocks []*Block) error
	// Send hands one message to the transport (never blocking).
	Send(env Envelope)
	// Commit hands committed blocks, in height order, to execution. It may block
	// (execution's backpressure).
	Commit(blocks []*Block) error
	// NeedPayload records that the core waits for Propose(req.View, payload).
	NeedPayload(req PayloadRequest)
	// Evidence reports misbehaviour (logged).
	Evidence(ev Evidence)
	// LookupExecuted asks for the state hash this validator recorded after
	// executing height; the driver answers with Core.ExecutedState after
	// Advance, or ignores the request if it has no such record.
	LookupExecuted(height uint64)
}

// Perform carries out rd in the core's order: persist the safety state and the
// blocks, send the messages and the sync requests, hand the committed blocks to
// execution, then pass on the payload request and the evidence. The driver calls
// Advance after it returns nil; an error (storage, execution) is fatal to the
// driver.
func Perform(rd *Ready, fx Effects) error {
	if rd.Safety != nil || len(rd.Blocks) > 0 {
		if err := fx.Persist(rd.Safety, rd.Blocks); err != nil {
			return err
		}
	}
	for _, env := range rd.Messages {
		fx.Send(env)
	}
	for _, f := range rd.Fetches {
		fx.Send(Envelope{To: f.From, Msg: f.Request()})
	}
	if len(rd.Committed) > 0 {
		if err := fx.Commit(rd.Committed); err != nil {
			return err
		}
	}
	if rd.NeedPayload != nil {
		fx.NeedPayload(*rd.NeedPayload)
	}
	for _, ev := range rd.Evidence {
		fx.Evidence(ev)
	}
	if rd.ExecLookup != 0 {
		fx.LookupExecuted(rd.ExecLookup)
	}
	return nil
}
