package dispatch

import "github.com/ringhook/ringhook/models"

// SetIngestFlushHook makes f run before each group-commit flush's store
// call, with the flush's events; an error from f fails the flush like a
// database error. Set it before the first Ingest.
func SetIngestFlushHook(d *Dispatcher, f func(evs []*models.Event) error) { d.ingests.onFlush = f }

// PendingIngests is how many ingest calls wait for a flush (not counting
// those in the flush running now).
func PendingIngests(d *Dispatcher) int {
	c := d.ingests
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.keys {
		n += len(q.pending)
	}
	return n
}

// DegradedGap is the rest a degraded webhook takes after each degraded success.
const DegradedGap = degradedGap
