package bench

import (
	"context"
	"testing"
	"time"

	"settle/internal/testkit"
)

// TestRestartMeasuresRecovery runs the restart measurement small: a real
// settled process recovers a store that CommitBlock filled, and answers ready.
func TestRestartMeasuresRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real settled process; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Restart(ctx, RestartOptions{Binary: testkit.BuildSettled(t), Dir: t.TempDir(), Txs: 3000,
		Accounts: 100, BlockTxs: 256, Restarts: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocks != 12 || len(res.ReadyS) != 2 || res.ReadyMedS <= 0 || res.DBBytes <= 0 {
		t.Fatalf("result %+v", res)
	}
}
