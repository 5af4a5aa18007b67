package dispatch

import (
	"time"

	"github.com/ringhook/ringhook/models"
)

// Observer is told what the dispatcher does, for metrics (web/metrics
// implements it with Prometheus; the dispatcher knows only this
// interface). Its methods are called on the dispatcher's hot paths, from
// many goroutines at once: they must be quick, safe for concurrent use,
// and must not block.
type Observer interface {
	// Claimed reports one claim statement: how many deliveries it leased
	// and how long it took (err set when it failed).
	Claimed(n int, took time.Duration, err error)
	// Recorded reports one write of outcomes (a recorder batch, or one
	// manual or test attempt) and the webhooks it disabled. A batch whose
	// write failed (err set) is written again later and reported again;
	// only a successful write means its attempts are in the database.
	Recorded(outs []models.Outcome, disabled []string, took time.Duration, err error)
	// Ingested reports one producer event taken in (or refused: err set;
	// invalid events are models.FieldErrors).
	Ingested(res models.IngestResult, err error)
	// InFlight moves the count of requests this process is sending by
	// delta (+1 when a send starts, -1 when it returns).
	InFlight(delta int)
}

// nopObserver is the Observer of a dispatcher configured without one.
type nopObserver struct{}

func (nopObserver) Claimed(int, time.Duration, error)                         {}
func (nopObserver) Recorded([]models.Outcome, []string, time.Duration, error) {}
func (nopObserver) Ingested(models.IngestResult, error)                       {}
func (nopObserver) InFlight(int)                                              {}
