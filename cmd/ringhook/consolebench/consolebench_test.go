package consolebench_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/cmd/ringhook/consolebench"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

func TestMain(m *testing.M) { modeltest.Main(m, "consolebench") }

// The benchmark seeds an empty database, then times every page as the
// biggest account (each answering 200) and reports each with EXPLAIN of
// the slowest statement; a second run reuses the seed.
func TestConsoleBenchSeedsAndTimesEveryPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	o, err := consolebench.ParseFlags([]string{"--requests", "2", "--warmup", "1", "--deliveries", "2000", "--accounts", "3", "--webhooks", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		var out, progress bytes.Buffer
		if err := consolebench.Run(ctx, db, models.WithKeyring(modeltest.Keyring()), o, "console-bench test", &out, &progress); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, progress.String())
		}
		report := out.String()
		for _, want := range []string{"| dashboard | `/` |", "| webhooks |", "| webhook |", "| log |", "| log call |", "| log status failed |",
			"| log event type |", "| log day |", "| delivery |", "| call |", "| audit |", "| api webhooks |", "| api deliveries number |",
			"| api webhook deliveries |", "| api event |", "| api call |", "EXPLAIN (ANALYZE, BUFFERS):", "Execution Time",
			"2000 deliveries in 3 accounts"} {
			if !strings.Contains(report, want) {
				t.Errorf("run %d: report lacks %q:\n%s", run, want, report)
			}
		}
		if seeded := strings.Contains(progress.String(), "reusing the seeded database"); seeded != (run == 1) {
			t.Errorf("run %d: reused the seed = %v:\n%s", run, seeded, progress.String())
		}
	}
}
