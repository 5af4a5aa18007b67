package devdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// versionedBinGlob is where Debian/Ubuntu install server binaries.
const versionedBinGlob = "/usr/lib/postgresql/*/bin"

// binaries are the PostgreSQL server programs used by Start.
type binaries struct {
	initdb, postgres, pgCtl string
}

// findBinaries locates initdb, postgres and pg_ctl: from PATH when all three
// are there, else from the highest version under /usr/lib/postgresql.
func findBinaries() (binaries, error) {
	var b binaries
	var errInit, errPG, errCtl error
	b.initdb, errInit = exec.LookPath("initdb")
	b.postgres, errPG = exec.LookPath("postgres")
	b.pgCtl, errCtl = exec.LookPath("pg_ctl")
	if errInit == nil && errPG == nil && errCtl == nil {
		return b, nil
	}

	dirs, err := filepath.Glob(versionedBinGlob)
	if err != nil {
		return binaries{}, fmt.Errorf("devdb: search %s: %w", versionedBinGlob, err)
	}
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	for _, dir := range slices.Backward(dirs) {
		c := binaries{
			initdb:   filepath.Join(dir, "initdb"),
			postgres: filepath.Join(dir, "postgres"),
			pgCtl:    filepath.Join(dir, "pg_ctl"),
		}
		if isExecutable(c.initdb) && isExecutable(c.postgres) && isExecutable(c.pgCtl) {
			return c, nil
		}
	}
	return binaries{}, errors.New("devdb: PostgreSQL server binaries not found (initdb, postgres, pg_ctl in PATH or " +
		versionedBinGlob + "): install postgresql or set DATABASE_URL")
}

// compareVersions orders dotted numeric versions ("9.6" < "15" < "16.1");
// non-numeric parts sort before numeric ones.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		na, nb := -1, -1
		if i < len(pa) {
			if n, err := strconv.Atoi(pa[i]); err == nil {
				na = n
			}
		}
		if i < len(pb) {
			if n, err := strconv.Atoi(pb[i]); err == nil {
				nb = n
			}
		}
		if na != nb {
			if na < nb {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// account is the unprivileged user the server runs as when we are root.
type account struct {
	name     string
	home     string
	uid, gid int
	groups   []int
}

func (a *account) credential() *syscall.Credential {
	c := &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
	for _, g := range a.groups {
		c.Groups = append(c.Groups, uint32(g))
	}
	return c
}

// serverOwner returns the postgres system account when running as root and
// nil otherwise (the server then runs as the current user).
func serverOwner() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(systemUser)
	if err != nil {
		return nil, fmt.Errorf("devdb: running as root, so PostgreSQL must run as the %q system user, but looking it up failed: %w (install postgresql, create the user, or set DATABASE_URL)", systemUser, err)
	}
	a := &account{name: u.Username, home: u.HomeDir}
	if a.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("devdb: parse uid %q of user %s: %w", u.Uid, u.Username, err)
	}
	if a.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("devdb: parse gid %q of user %s: %w", u.Gid, u.Username, err)
	}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil {
				a.groups = append(a.groups, g)
			}
		}
	}
	return a, nil
}

// prepareDataDir creates dir with mode 0700 (missing parents with 0755),
// enforces 0700 on an existing dir and, when the server runs as another
// user, checks that this user can reach dir.
func prepareDataDir(dir string, owner *account) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("devdb: create parent of data dir %s: %w", dir, err)
	}
	if owner != nil {
		if err := checkParents(dir, owner); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("devdb: create data dir %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("devdb: stat data dir %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("devdb: data dir %s is not a directory", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("devdb: chmod data dir %s to 0700: %w", dir, err)
		}
	}
	if owner != nil {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("devdb: chown data dir %s to %s: %w", dir, owner.name, err)
		}
	}
	return nil
}

// checkParents reports an error when owner may not search every parent
// directory of dir.
func checkParents(dir string, owner *account) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := checkTraversable(p, owner); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// fallbackDirName is the directory below the server user's home that holds
// clusters whose requested data dir that user cannot reach.
const fallbackDirName = "ringhook-dev"

// reachableDataDir returns dir when owner can reach it. Otherwise it returns
// a directory in owner's home, <home>/ringhook-dev/<name>-<hash>, named
// after dir so that every checkout gets its own, and makes dir a symbolic
// link to it: the caller's path still leads to the cluster, and a later
// Start (or a tool reading postmaster.pid) finds it the same way. An
// existing non-empty directory at dir is left alone and reported.
func reachableDataDir(dir string, owner *account, logf func(string, ...any)) (string, error) {
	why := checkParents(dir, owner)
	if why == nil {
		return dir, nil
	}
	if target, err := filepath.EvalSymlinks(dir); err == nil && target != dir && checkParents(target, owner) == nil {
		return target, nil // linked by an earlier run
	}
	if owner.home == "" || owner.home == "/" {
		return "", fmt.Errorf("%w; the %s user has no home directory to keep the cluster in instead", why, owner.name)
	}
	sum := sha256.Sum256([]byte(dir))
	name := filepath.Base(filepath.Dir(filepath.Dir(dir))) // the checkout, for .../<checkout>/.data/postgres
	alt := filepath.Join(owner.home, fallbackDirName, fmt.Sprintf("%s-%x", pathLabel(name), sum[:6]))

	if fi, err := os.Lstat(dir); err == nil {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			// A link to somewhere unreachable: point it at alt.
		case fi.IsDir():
			entries, err := os.ReadDir(dir)
			if err != nil {
				return "", fmt.Errorf("devdb: read %s: %w", dir, err)
			}
			if len(entries) > 0 {
				return "", fmt.Errorf("%w; %s already holds files, so it cannot become a link to %s: move them there or set DATABASE_URL", why, dir, alt)
			}
		default:
			return "", fmt.Errorf("devdb: data dir %s is not a directory", dir)
		}
		if err := os.Remove(dir); err != nil {
			return "", fmt.Errorf("devdb: replace %s with a link to %s: %w", dir, alt, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("devdb: stat %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("devdb: create parent of data dir %s: %w", dir, err)
	}
	if err := os.Symlink(alt, dir); err != nil {
		return "", fmt.Errorf("devdb: link %s to %s: %w", dir, alt, err)
	}
	logf("devdb: the %s user cannot reach %s, so the cluster is kept in %s (and %s links to it)", owner.name, dir, alt, dir)
	return alt, nil
}

// pathLabel keeps letters, digits, '-', '_' and '.' of s for use in a
// directory name.
func pathLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, s)
	if s == "" || s == "." || s == ".." {
		return "data"
	}
	return s
}

// checkTraversable reports an error when owner may not search directory p.
func checkTraversable(p string, owner *account) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("devdb: stat %s: %w", p, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	perm := fi.Mode().Perm()
	var bit fs.FileMode
	switch {
	case int(st.Uid) == owner.uid:
		bit = 0o100
	case int(st.Gid) == owner.gid || slices.Contains(owner.groups, int(st.Gid)):
		bit = 0o010
	default:
		bit = 0o001
	}
	if perm&bit == 0 {
		return fmt.Errorf("devdb: directory %s (mode %v) is not traversable by the %s user that runs PostgreSQL; choose a data dir whose parents are world-searchable (o+x)", p, perm, owner.name)
	}
	return nil
}

// hasCluster reports whether dir already holds an initialized cluster.
func hasCluster(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, "PG_VERSION"))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("devdb: check %s for PG_VERSION: %w", dir, err)
	}
}

// runInitdb initializes a new cluster in dir with a trusted superuser.
func runInitdb(ctx context.Context, initdb, dir string, owner *account) error {
	cmd := exec.CommandContext(ctx, initdb,
		"-D", dir,
		"-U", SuperUser,
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
	)
	// On cancellation ask initdb to stop (SIGINT) instead of killing it, so
	// that it removes the half-initialized cluster itself.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = dir
	cmd.Env = serverEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner.credential()}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devdb: initdb %s: %w; output:\n%s", dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// clearStalePid handles a postmaster.pid left by an earlier run. When the
// PID in it belongs to a live postgres serving dir, Start must not continue;
// the error names the URL of database urlDB on that server.
// Otherwise the file (and the Unix socket files next to it) are stale and
// are removed: postgres itself would refuse to start when the old PID has
// since been reused by an unrelated live process.
func clearStalePid(dir, urlDB string, logf func(string, ...any)) error {
	pidFile := filepath.Join(dir, "postmaster.pid")
	data, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("devdb: read %s: %w", pidFile, err)
	}
	lines := strings.Split(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err == nil && pid > 0 && ownsDataDir(pid, dir) {
		port := "?"
		if len(lines) > 3 {
			port = strings.TrimSpace(lines[3])
		}
		hint := "stop it first"
		if n, err := strconv.Atoi(port); err == nil && n > 0 {
			// Often a `make run` in another terminal: say how to share it.
			hint += fmt.Sprintf(", or use it with DATABASE_URL=%s", (&Server{port: n}).URL(urlDB))
		}
		return fmt.Errorf("devdb: a PostgreSQL server (pid %d, port %s) is already running on data dir %s; %s", pid, port, dir, hint)
	}

	logf("devdb: removing stale %s (pid %q is not a running postgres on this dir)", pidFile, strings.TrimSpace(lines[0]))
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devdb: remove stale %s: %w", pidFile, err)
	}
	sockets, err := filepath.Glob(filepath.Join(dir, ".s.PGSQL.*"))
	if err != nil {
		return fmt.Errorf("devdb: list stale sockets in %s: %w", dir, err)
	}
	for _, s := range sockets {
		if err := os.Remove(s); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("devdb: remove stale socket file %s: %w", s, err)
		}
	}
	return nil
}

// ownsDataDir reports whether pid is a live process that may be a postmaster
// for dir. A postmaster's working directory is its data directory; when that
// cannot be read, a live process is conservatively taken as the owner.
func ownsDataDir(pid int, dir string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false // not alive
	}
	cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil {
		// Vanished in the meantime, zombie, or /proc unreadable: only a
		// process that provably no longer exists is safe to ignore.
		_, selfErr := os.Stat("/proc/self")
		_, pidErr := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
		return selfErr != nil || pidErr == nil
	}
	return sameFile(cwd, dir)
}

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// chownTree gives dir and everything below it to owner.
func chownTree(dir string, owner *account) error {
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, owner.uid, owner.gid)
	})
	if err != nil {
		return fmt.Errorf("devdb: chown -R %s to %s: %w", dir, owner.name, err)
	}
	return nil
}

// RunningURL returns a connection URL for database dbname on the private
// server another process (a `make run`) is running on dataDir, read from
// its postmaster.pid, and false when no live server owns the directory.
// Commands such as `ringhook apikey create` use it to work alongside a
// running server instead of failing to start a second one.
func RunningURL(dataDir, dbname string) (string, bool) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false
	}
	data, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return "", false
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 4 {
		return "", false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 || !ownsDataDir(pid, dir) {
		return "", false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || port <= 0 || port > 65535 {
		return "", false
	}
	// ownsDataDir is conservative when /proc says little; the port decides.
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return "", false
	}
	conn.Close()
	return (&Server{port: port}).URL(dbname), true
}
