package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// listen opens a TCP listener on 127.0.0.1:port (0: any free port). Every
// receiver of the benchmark is on loopback only.
func listen(port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	return ln, nil
}

type arrival struct {
	id string
	at time.Time
}

// sink is the fast local receiver: 204 for everything, counting requests
// and, while recording, the arrival time per webhook-id.
type sink struct {
	srv       *http.Server
	base      string
	total     atomic.Int64
	recording atomic.Bool
	mu        sync.Mutex
	arrivals  []arrival
}

func startSink(port int) (*sink, error) {
	ln, err := listen(port)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	s := &sink{base: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	now := time.Now()
	if s.recording.Load() {
		if id := r.Header.Get("webhook-id"); id != "" {
			s.mu.Lock()
			s.arrivals = append(s.arrivals, arrival{id: id + " " + r.URL.Path, at: now})
			s.mu.Unlock()
		}
	}
	s.total.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// record starts (or stops) recording arrivals, clearing earlier ones.
func (s *sink) record(on bool) {
	s.mu.Lock()
	s.arrivals = nil
	s.mu.Unlock()
	s.recording.Store(on)
}

func (s *sink) taken() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.arrivals)
}

func (s *sink) seen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrivals)
}

func (s *sink) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// brokenKind is one way a receiver misbehaves in the isolation phase.
type brokenKind int

const (
	brokenHang  brokenKind = iota // reads the request, never answers (until the sender gives up)
	broken500                     // answers 500 at once
	brokenReset                   // resets the connection (RST) without answering
	brokenSlow                    // answers 204 after --slow-answer (5 s)
	brokenHuge                    // answers 200 with a --huge-mb (100 MB) body
	numBrokenKinds
)

var brokenNames = [numBrokenKinds]string{"hanging", "HTTP 500", "connection reset", "slow answer", "huge body"}

func (k brokenKind) String() string { return brokenNames[k] }

// brokenSet is the five broken receivers, each on its own loopback port.
// Every handler ends when its request does or when the set is closed, so
// nothing outlives the phase.
type brokenSet struct {
	urls  [numBrokenKinds]string
	srvs  []*http.Server
	done  chan struct{}
	once  sync.Once
	hits  [numBrokenKinds]atomic.Int64
	slow  time.Duration
	huge  int64
	chunk []byte
}

// startBroken starts the receivers on ports firstPort..firstPort+4 (0: any
// free ports).
func startBroken(firstPort int, slow time.Duration, hugeBytes int64) (*brokenSet, error) {
	b := &brokenSet{done: make(chan struct{}), slow: slow, huge: hugeBytes, chunk: make([]byte, 64<<10)}
	for i := range b.chunk {
		b.chunk[i] = 'x'
	}
	for k := range numBrokenKinds {
		port := 0
		if firstPort > 0 {
			port = firstPort + int(k)
		}
		ln, err := listen(port)
		if err != nil {
			b.close()
			return nil, fmt.Errorf("%s receiver: %w", k, err)
		}
		b.urls[k] = "http://" + ln.Addr().String() + "/broken"
		srv := &http.Server{Handler: b.handler(k), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
		b.srvs = append(b.srvs, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	return b, nil
}

func (b *brokenSet) handler(k brokenKind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits[k].Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		switch k {
		case brokenHang:
			select {
			case <-r.Context().Done():
			case <-b.done:
				panic(http.ErrAbortHandler) // drop the connection: never an answer
			}
		case broken500:
			http.Error(w, "internal error", http.StatusInternalServerError)
		case brokenReset:
			rc := http.NewResponseController(w)
			conn, _, err := rc.Hijack()
			if err != nil {
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close sends RST, not FIN
			}
			_ = conn.Close()
		case brokenSlow:
			t := time.NewTimer(b.slow)
			defer t.Stop()
			select {
			case <-t.C:
				w.WriteHeader(http.StatusNoContent)
			case <-r.Context().Done():
			case <-b.done:
				panic(http.ErrAbortHandler)
			}
		case brokenHuge:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.FormatInt(b.huge, 10))
			for left := b.huge; left > 0; {
				n := min(left, int64(len(b.chunk)))
				if _, err := w.Write(b.chunk[:n]); err != nil {
					return // the sender stopped reading
				}
				left -= n
				select {
				case <-b.done:
					return
				default:
				}
			}
		}
	})
}

// close ends every handler in flight and stops the servers.
func (b *brokenSet) close() {
	b.once.Do(func() { close(b.done) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, s := range b.srvs {
		errs = append(errs, s.Shutdown(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		for _, s := range b.srvs {
			_ = s.Close()
		}
	}
}
