// Package devdb runs a private PostgreSQL server from the locally installed
// server binaries and hands out throwaway databases for tests.
//
// It serves two purposes:
//
//   - `make run` without DATABASE_URL: Start brings up a durable server in a
//     data directory (initialized on first use, reused afterwards) that
//     listens only on 127.0.0.1.
//   - Tests and the benchmark: NewScratch creates a throwaway database on an
//     existing server or on a private one in a temporary directory, and
//     drops it afterwards (models/modeltest builds the test databases on it).
//
// When the calling process runs as root, the server runs as the "postgres"
// system user, because PostgreSQL refuses to run as root.
package devdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// SuperUser is the superuser role created by initdb and used in URLs
	// returned by (*Server).URL.
	SuperUser = "ringhook"

	// LogFileName is the name of the server log inside the data directory.
	LogFileName = "postgres.log"

	// systemUser is the account the server runs as when we are root.
	systemUser = "postgres"

	// readyTimeout bounds how long Start waits for the server to accept
	// connections.
	readyTimeout = 30 * time.Second

	// pollInterval is the pause between readiness probes.
	pollInterval = 100 * time.Millisecond

	// stopTimeout bounds how long Stop waits after the fast-shutdown
	// request before it kills the server.
	stopTimeout = 30 * time.Second

	// killWait bounds how long Stop waits for the process after SIGKILL.
	killWait = 5 * time.Second

	// autoPortAttempts is how often Start retries with a new port when the
	// port was picked automatically and the server exits during startup
	// (another process may have taken the port in the meantime).
	autoPortAttempts = 3

	// maxSocketPath is the usable length of a Unix socket path
	// (sizeof(sun_path) - 1 on Linux).
	maxSocketPath = 107
)

// Options configures Start.
type Options struct {
	// DataDir is the PostgreSQL data directory. It is created (mode 0700)
	// and initialized when it does not hold a cluster yet; an existing
	// cluster is reused. Required.
	DataDir string

	// Port is the TCP port on 127.0.0.1 to listen on; 0 picks a free one.
	Port int

	// Fast turns off durability (fsync, synchronous_commit,
	// full_page_writes). Only for throwaway test servers, never for data
	// that should survive a crash.
	Fast bool

	// Fallback applies when the server runs as the postgres user (we are
	// root) and that user cannot reach DataDir, as with a checkout under
	// /root: the cluster is then kept in that user's home directory
	// (<home>/ringhook-dev/<name>-<hash of DataDir>) and DataDir becomes a
	// symbolic link to it. Without Fallback, Start fails in that case.
	Fallback bool

	// URLFile, when set, is where Start writes the connection URL of
	// database URLDatabase ("postgres" when empty) once the server is
	// ready; Stop removes the file.
	URLFile     string
	URLDatabase string

	// Logf, when set, receives progress messages.
	Logf func(format string, args ...any)
}

// Server is a running private PostgreSQL server started by Start.
type Server struct {
	dataDir string
	port    int
	logPath string
	logf    func(format string, args ...any)

	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has been reaped
	err     error         // result of cmd.Wait, valid after done is closed
	urlFile string        // removed by Stop; empty when none was written
}

// Start starts a private PostgreSQL server in opts.DataDir, initializing the
// directory first when needed, and returns once the server accepts
// connections. The server runs in its own process group, so a terminal
// Ctrl-C reaches only the caller, which should call Stop on shutdown.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("devdb: start postgres: Options.DataDir is empty")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("devdb: start postgres: invalid port %d", opts.Port)
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}

	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devdb: resolve data dir %q: %w", opts.DataDir, err)
	}

	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}

	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}

	if owner != nil && opts.Fallback {
		if dir, err = reachableDataDir(dir, owner, logf); err != nil {
			return nil, err
		}
	}

	if err := prepareDataDir(dir, owner); err != nil {
		return nil, err
	}

	initialized, err := hasCluster(dir)
	if err != nil {
		return nil, err
	}
	if !initialized {
		logf("devdb: initializing PostgreSQL data directory %s", dir)
		if err := runInitdb(ctx, bins.initdb, dir, owner); err != nil {
			return nil, err
		}
	} else if err := clearStalePid(dir, cmp.Or(opts.URLDatabase, "postgres"), logf); err != nil {
		return nil, err
	}

	if owner != nil {
		// Files may have been created by an earlier run as another user.
		if err := chownTree(dir, owner); err != nil {
			return nil, err
		}
	}

	portTries := 1 // a taken port is retried only when we chose it
	if opts.Port == 0 {
		portTries = autoPortAttempts
	}
	const shmTries = 20 // 10 s for a crashed server's backends to exit
	var lastErr error
	for ports, shm := 0, 0; ports < portTries && shm < shmTries; {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		s, err := launch(ctx, bins.postgres, dir, port, opts.Fast, owner, logf)
		if err == nil {
			if err := s.writeURLFile(opts.URLFile, opts.URLDatabase); err != nil {
				return nil, errors.Join(err, s.Stop(context.WithoutCancel(ctx)))
			}
			return s, nil
		}
		lastErr = err
		var early *earlyExitError
		if !errors.As(err, &early) || ctx.Err() != nil {
			break
		}
		switch {
		case early.portTaken():
			ports++
			logf("devdb: port %d was taken meanwhile; retrying with another port", port)
		case early.sharedMemoryBusy():
			// The backends of a crashed server are still exiting; give them a moment.
			shm++
			logf("devdb: the previous server's processes still hold shared memory; retrying")
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		default:
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// earlyExitError reports that postgres exited before accepting connections.
type earlyExitError struct {
	err     error
	logTail string
}

func (e *earlyExitError) Error() string {
	return fmt.Sprintf("postgres exited during startup (%v); log tail:\n%s", e.err, e.logTail)
}

func (e *earlyExitError) Unwrap() error { return e.err }

// portTaken reports whether the log says the TCP port was in use.
// sharedMemoryBusy reports PostgreSQL's refusal to start while processes
// of an earlier (crashed) server on the same directory have not exited yet.
func (e *earlyExitError) sharedMemoryBusy() bool {
	return strings.Contains(e.logTail, "pre-existing shared memory block")
}

func (e *earlyExitError) portTaken() bool {
	return strings.Contains(e.logTail, "Address already in use") ||
		strings.Contains(e.logTail, "could not create any TCP/IP sockets")
}

// launch starts postgres once on the given port and waits for readiness.
func launch(ctx context.Context, postgresBin, dir string, port int, fast bool, owner *account, logf func(string, ...any)) (*Server, error) {
	logPath := filepath.Join(dir, LogFileName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("devdb: open postgres log %s: %w", logPath, err)
	}
	if owner != nil {
		if err := os.Chown(logPath, owner.uid, owner.gid); err != nil {
			_ = logFile.Close()
			return nil, fmt.Errorf("devdb: chown postgres log %s: %w", logPath, err)
		}
	}
	logStart, err := logFile.Seek(0, 2)
	if err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("devdb: seek postgres log %s: %w", logPath, err)
	}

	args := []string{
		"-D", dir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + socketDirSetting(dir, port),
	}
	if fast {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}
	// Not exec.CommandContext: the server must outlive ctx, which only
	// bounds startup; Stop ends it.
	cmd := exec.Command(postgresBin, args...)
	cmd.Dir = dir
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if owner != nil {
		cmd.SysProcAttr.Credential = owner.credential()
	}

	logf("devdb: starting PostgreSQL on 127.0.0.1:%d (data %s, log %s)", port, dir, logPath)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("devdb: start %s: %w", postgresBin, err)
	}
	// The child holds its own descriptor; ours is no longer needed.
	_ = logFile.Close()

	s := &Server{
		dataDir: dir,
		port:    port,
		logPath: logPath,
		logf:    logf,
		cmd:     cmd,
		done:    make(chan struct{}),
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(ctx); err != nil {
		var early *earlyExitError
		if errors.As(err, &early) {
			early.logTail = readLogTail(logPath, logStart)
			return nil, fmt.Errorf("devdb: start postgres on port %d: %w", port, early)
		}
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		stopErr := s.Stop(stopCtx)
		return nil, errors.Join(
			fmt.Errorf("devdb: start postgres on port %d: %w; log tail:\n%s", port, err, readLogTail(logPath, logStart)),
			stopErr,
		)
	}
	logf("devdb: PostgreSQL ready on 127.0.0.1:%d (pid %d)", port, cmd.Process.Pid)
	return s, nil
}

// waitReady polls until the server accepts a connection to database
// "postgres", the process exits, ctx ends or readyTimeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	url := s.URL("postgres")
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var lastErr error
	for {
		select {
		case <-s.done:
			return &earlyExitError{err: exitError(s.err)}
		default:
		}
		attemptCtx, attemptCancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, url)
		if err == nil {
			err = conn.Ping(attemptCtx)
			_ = conn.Close(context.WithoutCancel(attemptCtx))
		}
		attemptCancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-s.done:
			return &earlyExitError{err: exitError(s.err)}
		case <-ctx.Done():
			return fmt.Errorf("server not accepting connections (%w); last error: %v", ctx.Err(), lastErr)
		case <-ticker.C:
		}
	}
}

func exitError(err error) error {
	if err == nil {
		return errors.New("exit status 0")
	}
	return err
}

// URL returns a connection URL for database dbname on this server, using
// the trusted superuser role over TCP.
func (s *Server) URL(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(SuperUser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// writeURLFile writes the connection URL of database dbname to path (when
// path is set), for people and tools that want to reach the server.
func (s *Server) writeURLFile(path, dbname string) error {
	if path == "" {
		return nil
	}
	url := s.URL(cmp.Or(dbname, "postgres"))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("devdb: create directory of %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(url+"\n"), 0o600); err != nil {
		return fmt.Errorf("devdb: write connection URL to %s: %w", path, err)
	}
	s.urlFile = path
	s.logf("devdb: connection URL %s (kept in %s while the server runs)", url, path)
	return nil
}

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// DataDir returns the absolute data directory of the server.
func (s *Server) DataDir() string { return s.dataDir }

// LogPath returns the path of the server's log file.
func (s *Server) LogPath() string { return s.logPath }

// Stop asks the server for a fast shutdown (SIGINT: roll back open
// transactions, disconnect clients, checkpoint) and waits for it to exit.
// If it has not exited within 30 seconds, or when ctx ends first, the
// server's process group is killed. Stop may be called more than once.
func (s *Server) Stop(ctx context.Context) error {
	if s.urlFile != "" {
		// The URL is about to stop working, whatever happens below.
		if err := os.Remove(s.urlFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.logf("devdb: remove %s: %v", s.urlFile, err)
		}
		s.urlFile = ""
	}
	pid := s.cmd.Process.Pid
	select {
	case <-s.done:
		return s.exitResult()
	default:
	}
	s.logf("devdb: stopping PostgreSQL (pid %d)", pid)
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("devdb: signal postgres pid %d: %w", pid, err)
	}

	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.done:
		return s.exitResult()
	case <-timer.C:
	case <-ctx.Done():
	}

	s.logf("devdb: PostgreSQL (pid %d) did not stop in time; killing it", pid)
	// The whole group, so that backends do not linger on the data dir.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("devdb: kill postgres process group %d: %w", pid, err)
	}
	select {
	case <-s.done:
		return fmt.Errorf("devdb: postgres pid %d did not shut down in time and was killed", pid)
	case <-time.After(killWait):
		return fmt.Errorf("devdb: postgres pid %d did not exit after SIGKILL", pid)
	}
}

// exitResult interprets the process exit after done was closed.
func (s *Server) exitResult() error {
	if s.err != nil {
		return fmt.Errorf("devdb: postgres pid %d exited: %w (see %s)", s.cmd.Process.Pid, s.err, s.logPath)
	}
	return nil
}

// freePort asks the kernel for a currently unused TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devdb: pick a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("devdb: release probe port %d: %w", port, err)
	}
	return port, nil
}

// socketDirSetting returns the unix_socket_directories value: the data dir
// (quoted, so that commas or spaces in the path are kept), or empty (no Unix
// socket, TCP only) when the socket path would exceed the kernel limit.
func socketDirSetting(dir string, port int) string {
	socket := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port)+".lock")
	if len(socket) > maxSocketPath {
		return ""
	}
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}

// serverEnv is the environment for initdb and postgres: the caller's,
// without libpq/PG* variables that could redirect the tools, and with a
// plain C locale for messages.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// readLogTail returns the last lines written to the log after offset.
func readLogTail(path string, offset int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if offset > 0 && offset <= int64(len(data)) {
		data = data[offset:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	const keep = 20
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	return strings.Join(lines, "\n")
}
