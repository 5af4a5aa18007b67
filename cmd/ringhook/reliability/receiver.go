package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// receiver is a loopback webhook receiver that counts every delivery by
// webhook-id (the event id) and path (one per webhook), remembers when each
// first arrived, and which child sent it (the connection's owner, found
// through /proc on Linux; "?" elsewhere).
type receiver struct {
	srv   *http.Server
	base  string
	port  int
	delay time.Duration

	mu       sync.Mutex
	count    map[string]int
	arrivals map[string][]arrival
	byChild  map[string]int64
	total    int64
	inflight int64          // requests being answered now
	pids     map[int]string // child pid -> name, for attribution
}

type ownerKey struct{}

// arrival is one request for a delivery: when it started arriving (its
// headers were read) and which child sent it.
type arrival struct {
	at    time.Time
	owner string
}

func startReceiver(delay time.Duration) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	r := &receiver{delay: delay, count: map[string]int{}, arrivals: map[string][]arrival{}, byChild: map[string]int64{}, pids: map[int]string{},
		port: ln.Addr().(*net.TCPAddr).Port}
	r.base = "http://" + ln.Addr().String()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, ownerKey{}, r.owner(c))
		}}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	_ = r.srv.Close()
}

// track names the child with pid for the share of work.
func (r *receiver) track(c *child) {
	r.mu.Lock()
	r.pids[c.cmd.Process.Pid] = c.name
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// The start, not the end: a request a dying child sent just before
	// its kill may finish arriving after it.
	now := time.Now()
	r.mu.Lock()
	r.inflight++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inflight--
		r.mu.Unlock()
	}()
	_, _ = io.Copy(io.Discard, req.Body)
	if r.delay > 0 {
		select {
		case <-time.After(r.delay):
		case <-req.Context().Done():
			return
		}
	}
	key := deliveryKey(req.Header.Get("webhook-id"), req.URL.Path)
	owner, _ := req.Context().Value(ownerKey{}).(string)
	r.mu.Lock()
	r.count[key]++
	r.arrivals[key] = append(r.arrivals[key], arrival{now, owner})
	r.byChild[owner]++
	r.total++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) received() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// answering is the number of requests the receiver is in the middle of
// (their deliveries are leased by whoever sent them).
func (r *receiver) answering() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight
}

// seenAll reports whether every key of want has arrived at least once.
func (r *receiver) seenAll(want map[string]bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range want {
		if r.count[k] == 0 {
			return false
		}
	}
	return true
}

// tally counts, against want, the keys never seen and the extra arrivals
// (every arrival after a key's first); arrivals of keys outside want count
// as duplicates too, since nothing else should arrive.
func (r *receiver) tally(want map[string]bool) (lost, dups int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range want {
		if r.count[k] == 0 {
			lost++
		}
	}
	for _, n := range r.count {
		if n > 1 {
			dups += int64(n - 1)
		}
	}
	return lost, dups
}

// firstAfter is the earliest arrival after t of any of keys sent by
// another child than not (zero if none).
func (r *receiver) firstAfter(keys map[string]bool, t time.Time, not string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for k := range keys {
		for _, a := range r.arrivals[k] {
			if a.at.After(t) && a.owner != not && (first.IsZero() || a.at.Before(first)) {
				first = a.at
			}
		}
	}
	return first
}

// shares is each child's part of the deliveries received, by name.
func (r *receiver) shares() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.byChild))
	for k, v := range r.byChild {
		out[k] = v
	}
	return out
}

// owner finds which tracked child holds the client end of c: the socket
// whose local port is c's remote port, looked up in /proc/net/tcp, then
// the child whose descriptors include that socket's inode.
func (r *receiver) owner(c net.Conn) string {
	remote, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return "?"
	}
	inode := socketInode(remote.Port, r.port)
	if inode == "" {
		return "?"
	}
	r.mu.Lock()
	pids := make(map[int]string, len(r.pids))
	for p, n := range r.pids {
		pids[p] = n
	}
	r.mu.Unlock()
	target := "socket:[" + inode + "]"
	for pid, name := range pids {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && l == target {
				return name
			}
		}
	}
	return "?"
}

// socketInode is the inode of the TCP socket from localPort to remotePort
// on loopback ("" when /proc/net/tcp does not say).
func socketInode(localPort, remotePort int) string {
	want := fmt.Sprintf(":%04X", localPort)
	rem := fmt.Sprintf(":%04X", remotePort)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !strings.HasSuffix(fields[1], want) || !strings.HasSuffix(fields[2], rem) {
				continue
			}
			if _, err := strconv.ParseUint(fields[9], 10, 64); err == nil && fields[9] != "0" {
				fh.Close()
				return fields[9]
			}
		}
		fh.Close()
	}
	return ""
}
