package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mxout/mxout/internal/qmailspawn/spawntest"
)

// As root (the suite's normal case) the tests start the binary as qmail-start would: as another
// user (runUser stands for qmailr) with descriptors 2 to 6 closed, and the binary is linked with
// queueUser set to testQueueUser, which stands for qmailq. Both are users every Debian system has,
// so no user is created and nothing at run time can change whose files are trusted. As any other
// user (scripts/test.sh through sudo runs go test unprivileged) the spawner runs as that user,
// which is then also the queue user, and a message of another owner is a link to a file of root's.
const (
	runUser       = "nobody"
	testQueueUser = "daemon"
)

// identity is who runs the spawner and who owns the queue in this run of the tests.
type identity struct {
	cred      *syscall.Credential // nil: the test's own user
	queueUser string
	queueUID  int
	runUID    int
}

func who(t *testing.T) identity {
	t.Helper()
	if os.Getuid() != 0 {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		return identity{queueUser: me.Username, queueUID: os.Getuid(), runUID: os.Getuid()}
	}
	run, err := user.Lookup(runUser)
	if err != nil {
		t.Fatalf("user %s: %v (the tests need it to run the spawner as someone other than root)", runUser, err)
	}
	q, err := user.Lookup(testQueueUser)
	if err != nil {
		t.Fatalf("user %s: %v", testQueueUser, err)
	}
	uid, _ := strconv.Atoi(run.Uid)
	gid, _ := strconv.Atoi(run.Gid)
	quid, _ := strconv.Atoi(q.Uid)
	return identity{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
		queueUser: testQueueUser, queueUID: quid, runUID: uid}
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds the command once, into a directory other users can reach.
func binary(t *testing.T) string {
	t.Helper()
	id := who(t)
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "qmail-rspawn-test-"); buildErr != nil {
			return
		}
		if buildErr = os.Chmod(binDir, 0o755); buildErr != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		binPath = filepath.Join(binDir, "qmail-rspawn")
		cmd := exec.Command(goBin, "build", "-ldflags=-X main.queueUser="+id.queueUser, "-o", binPath, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// env is one qmail installation for a test: QMAILHOME with control files and queue/mess.
type env struct {
	t        *testing.T
	home     string
	id       identity
	queueUID int
	opts     spawntest.Options
}

// newEnv makes a QMAILHOME whose smtproutes lists routes ("domain:host:port" lines).
func newEnv(t *testing.T, routes ...string) *env {
	t.Helper()
	id := who(t)
	home := t.TempDir()
	for _, d := range []string{home, filepath.Dir(home)} { // TempDir makes both 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"control/me":         "me.example.test\n",
		"control/helohost":   "helo.example.test\n",
		"control/smtproutes": strings.Join(routes, "\n") + "\n",
	}
	for name, content := range files {
		path := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, "queue/mess/0"), 0o755); err != nil {
		t.Fatal(err)
	}
	// No test may reach the machine's resolver: any DNS lookup goes to a closed loopback port.
	e := &env{t: t, home: home, id: id, queueUID: id.queueUID}
	e.opts = spawntest.Options{Credential: id.cred, Env: []string{"QMAILHOME=" + home, "MXOUT_DNS=127.0.0.1:9"}}
	return e
}

// message writes queue/mess/messid owned by uid with mode.
func (e *env) message(messid string, uid int, mode os.FileMode) {
	e.t.Helper()
	path := filepath.Join(e.home, "queue/mess", messid)
	if err := os.WriteFile(path, []byte(testMessage), mode); err != nil {
		e.t.Fatal(err)
	}
	if uid != os.Getuid() {
		if err := os.Chown(path, uid, -1); err != nil {
			e.t.Fatal(err)
		}
	}
}

// foreign makes queue/mess/messid a regular file of another owner than the queue user.
func (e *env) foreign(messid string) {
	e.t.Helper()
	if os.Getuid() == 0 {
		e.message(messid, 0, 0o644) // root's; the queue user is testQueueUser
		return
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(e.home, "queue/mess", messid)); err != nil {
		e.t.Fatal(err)
	}
}

// start starts the spawner as qmail-start would.
func (e *env) start() *spawntest.QmailSend {
	return spawntest.Start(e.t, binary(e.t), e.opts)
}

const testMessage = "Received: (qmail 1 invoked by uid 0); 30 Nov 2026 08:00:00 -0000\nSubject: t\n\nhello\n.dot\n"

// session is a non-pipelining server's dialogue up to the RCPT for a recipient at domain.
func session(domain, rcptReply string) string {
	return `
< 220 mx.example.test ESMTP
> EHLO helo.example.test
< 250 mx.example.test
> MAIL FROM:<s@example.org>
< 250 ok
>~ RCPT TO:<[a-z0-9]+@` + strings.ReplaceAll(domain, ".", `\.`) + `>
< ` + rcptReply
}

// trap is a route target that fails the test when anything connects to it.
func trap(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Errorf("a refused request opened a connection from %s", c.RemoteAddr())
			c.Close()
		}
	}()
	return ln.Addr().String()
}
