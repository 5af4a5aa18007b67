package models

import (
	"context"
	"fmt"
	"time"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSending   = "sending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// RenderedRequest is a request exactly as it goes over the wire.
type RenderedRequest struct {
	Method  string
	URL     string
	Headers []Header
	Body    []byte
}

// WebhookStat summarises one webhook's recent deliveries.
type WebhookStat struct {
	Succeeded  int
	Failed     int
	Pending    int
	LastAt     *time.Time
	LastStatus string
}

// SuccessRate is succeeded / finished, and false when nothing finished.
func (s WebhookStat) SuccessRate() (float64, bool) {
	done := s.Succeeded + s.Failed
	if done == 0 {
		return 0, false
	}
	return float64(s.Succeeded) / float64(done), true
}

// WebhookStats counts each webhook's deliveries created since the given time.
func (s *Store) WebhookStats(ctx context.Context, accountID string, since time.Time) (map[string]WebhookStat, error) {
	type row struct {
		WebhookID  string
		Succeeded  int
		Failed     int
		Pending    int
		LastAt     *time.Time
		LastStatus string
	}
	var rows []row
	err := s.db.WithContext(ctx).Raw(`
		SELECT webhook_id,
		       count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
		       count(*) FILTER (WHERE status = 'failed') AS failed,
		       count(*) FILTER (WHERE status IN ('pending', 'sending')) AS pending,
		       max(created_at) AS last_at,
		       (array_agg(status ORDER BY id DESC))[1] AS last_status
		FROM deliveries
		WHERE account_id = ? AND created_at >= ? AND NOT test
		GROUP BY webhook_id`, accountID, since).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	out := make(map[string]WebhookStat, len(rows))
	for _, r := range rows {
		out[r.WebhookID] = WebhookStat{Succeeded: r.Succeeded, Failed: r.Failed, Pending: r.Pending, LastAt: r.LastAt, LastStatus: r.LastStatus}
	}
	return out, nil
}
