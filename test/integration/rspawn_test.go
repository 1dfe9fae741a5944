//go:build integration

package integration

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/qmailspawn/spawntest"
)

// rspawnUser is who runs qmail-rspawn and owns the queue: as root, nobody (the spawner refuses
// root); otherwise the test's own user. It returns the name and the credential (nil: our own).
func rspawnUser(t *testing.T) (string, int, *syscall.Credential) {
	t.Helper()
	if os.Getuid() != 0 {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		return me.Username, os.Getuid(), nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return u.Username, uid, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// openDir makes dir and its parent (t.TempDir makes both 0700) reachable by the spawner's user.
func openDir(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// rspawnBinary builds cmd/qmail-rspawn with queueUser as the owner of the queue's messages.
func rspawnBinary(t *testing.T, queueUser string) string {
	t.Helper()
	dir := t.TempDir()
	openDir(t, dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "qmail-rspawn")
	cmd := exec.Command(goTool, "build", "-ldflags=-X main.queueUser="+queueUser, "-o", bin, "./cmd/qmail-rspawn")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/qmail-rspawn: %v\n%s", err, out)
	}
	return bin
}

// TestRspawnPostfix: qmail-rspawn, driven as qmail-send drives it (20 deliveries in flight, one
// recipient per request), delivers 50 messages of 10 recipients each to the Postfix peer with
// STARTTLS: every accepted copy lands once and intact, a recipient Postfix refuses gets D and the
// others of its message K, and Postfix saw only a few connections for the 500 deliveries.
func TestRspawnPostfix(t *testing.T) {
	const messages, rcpts, inflight = 50, 10, 20
	name, uid, cred := rspawnUser(t)
	bin := rspawnBinary(t, name)
	home := qmailHome(t, map[string]string{
		"smtproutes":        "example.test:127.0.0.1:" + peerSMTPPort + "\n",
		"concurrencyremote": fmt.Sprintf("%d\n", inflight),
	})
	openDir(t, home)
	mess := filepath.Join(home, "queue", "mess", "0")
	if err := os.MkdirAll(mess, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(home, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("rs%d.%d", os.Getpid(), time.Now().UnixNano())
	digests := map[string][32]byte{}
	var reqs []spawntest.Request
	refused := map[int]bool{}
	for i := range messages {
		id := fmt.Sprintf("<tr.%s.%d@mxout-it.example.test>", run, i)
		body := fmt.Sprintf("message %d of run %s\n.leading dot\n%s\n", i, run, strings.Repeat("y", i*37%900))
		msg := message(id, "list@example.test", body)
		digests[id] = sha256.Sum256(msg)
		path := filepath.Join(mess, strconv.Itoa(i))
		if err := os.WriteFile(path, msg, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, uid, -1); err != nil {
			t.Fatal(err)
		}
		for r := range rcpts {
			rcpt := fmt.Sprintf("rs%d-%d@example.test", i, r)
			if i%7 == 3 && r == 4 {
				rcpt = "reject-550@example.test"
				refused[len(reqs)] = true
			}
			reqs = append(reqs, spawntest.Request{MessID: "0/" + strconv.Itoa(i), Sender: sender, Recipient: rcpt})
		}
	}
	maillog := filepath.Join(peersDir(t), "postfix", "maillog")
	logStart := fileSize(t, maillog)
	q := spawntest.Start(t, bin, spawntest.Options{Credential: cred,
		Env: []string{"QMAILHOME=" + home, "MXOUT_DNS=" + peerDNS}})
	start := time.Now()
	got := q.Run(reqs, inflight)
	took := time.Since(start)
	if code := q.End(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	accepted := regexp.MustCompile(`^K127\.0\.0\.1 TLS( \([^)]+\))? transmitted message accepted\.\nRemote host said: 250 2\.0\.0 Ok: queued as [0-9A-Za-z]+\n$`)
	ok := 0
	for i, rep := range got {
		switch {
		case refused[i]:
			if !strings.HasPrefix(rep, "D127.0.0.1 does not like recipient.\nRemote host said: 550 5.7.1") ||
				!strings.HasSuffix(rep, "Giving up on 127.0.0.1.\n") {
				t.Errorf("%s: %q, want its own D report", reqs[i].Recipient, rep)
			}
		case accepted.MatchString(rep):
			ok++
		default:
			t.Errorf("%s: %q, want K over TLS", reqs[i].Recipient, rep)
		}
	}
	files := waitRun(t, run, ok)
	seen := map[string]bool{}
	for _, m := range files {
		id := regexp.MustCompile(`(?m)^Message-ID: (\S+)$`).FindSubmatch(m.Data)
		key := string(id[1]) + " " + m.deliveredTo()
		if seen[key] {
			t.Errorf("delivered twice: %s", key)
		}
		seen[key] = true
		if sha256.Sum256(m.Data[strings.Index(string(m.Data), "Date: "):]) != digests[string(id[1])] {
			t.Errorf("%s arrived changed (%s)", id[1], m.Path)
		}
		if !strings.Contains(string(m.head()), "(using TLS") {
			t.Errorf("%s came in clear", m.Path)
		}
	}
	// At the start every delivery in flight may find no session ready and open one, up to the
	// pool's per-destination limit (20, as qmail-send's concurrency here): the bound that holds
	// whatever the machine's load. After that sessions are reused: 500 deliveries never take more.
	// (A bound of 8 failed once in CI with 11 connections on a loaded machine.)
	connects := connectionsCarrying(t, maillog, logStart, "<tr."+run+".")
	if connects < 1 || connects > inflight {
		t.Errorf("Postfix saw %d connections for %d deliveries, %d in flight", connects, len(reqs), inflight)
	}
	t.Logf("%d deliveries (%d accepted) in %v over %d connections", len(reqs), ok, took, connects)
}
