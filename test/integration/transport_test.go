//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// transportControl is a -C directory under which the peers' loopback MX is not this machine.
func transportControl(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notipme"), []byte("127.0.0.0/8\n::1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runTransport runs mxout transport with jobs on stdin and returns stdout and stderr.
func runTransport(t *testing.T, jobs []byte, args ...string) (string, string) {
	t.Helper()
	peersDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "mxout"), append([]string{"transport"}, args...)...)
	cmd.Env = append(cleanEnv(), "MXOUT_DNS="+peerDNS)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(jobs), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mxout transport: %v\nstderr: %s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestTransportManyMessages: 1,000 jobs of 1-3 recipients over kept connections with STARTTLS.
// Every recipient gets exactly one status; refused recipients get error/deferred, the others
// ok; every accepted message lands once and intact; Postfix saw few connections.
func TestTransportManyMessages(t *testing.T) {
	const n, conns = 1000, 4
	dir := t.TempDir()
	run := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano())
	type want struct{ id, rcpt, status string }
	var wants []want
	digests := map[string][32]byte{} // Message-ID -> digest of the sent text
	var jobs bytes.Buffer
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("<tr.%s.%d@mxout-it.example.test>", run, i)
		rcpts := []string{fmt.Sprintf("tr%d@example.test", i)}
		switch {
		case i%97 == 0:
			rcpts = append(rcpts, "reject-550@example.test")
		case i%89 == 0:
			rcpts = append(rcpts, "reject-450@example.test")
		case i%3 == 0:
			rcpts = append(rcpts, fmt.Sprintf("tr%d-b@example.test", i), fmt.Sprintf("tr%d-c@example.test", i))
		}
		body := fmt.Sprintf("message %d of run %s\n.leading dot\n%s\n", i, run, strings.Repeat("x", i%700))
		msg := message(id, rcpts[0], body)
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(path, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		digests[id] = sha256.Sum256(msg)
		job, _ := json.Marshal(map[string]any{"id": fmt.Sprint(i), "sender": sender, "recipients": rcpts, "file": path})
		jobs.Write(append(job, '\n'))
		for _, r := range rcpts {
			st := "ok"
			switch r {
			case "reject-550@example.test":
				st = "error"
			case "reject-450@example.test":
				st = "deferred"
			}
			wants = append(wants, want{fmt.Sprint(i), r, st})
		}
	}
	logStart := fileSize(t, filepath.Join(peersDir(t), "postfix", "maillog"))
	start := time.Now()
	out, errOut := runTransport(t, jobs.Bytes(), "-c", fmt.Sprint(conns), "-p", peerSMTPPort, "-C", transportControl(t))
	t.Logf("%d jobs in %v: %s", n, time.Since(start), strings.TrimSpace(errOut))

	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			t.Fatalf("status line %q has %d fields", sc.Text(), len(f))
		}
		key := f[0] + " " + f[1]
		if _, dup := got[key]; dup {
			t.Errorf("two statuses for %s", key)
		}
		got[key] = f[2]
	}
	if len(got) != len(wants) {
		t.Errorf("%d statuses for %d recipients", len(got), len(wants))
	}
	for _, w := range wants {
		if st := got[w.id+" "+w.rcpt]; st != w.status {
			t.Errorf("job %s %s: %q, want %q", w.id, w.rcpt, st, w.status)
		}
	}

	// Every ok recipient's copy is in the maildir once, intact.
	okCount := 0
	for _, w := range wants {
		if w.status == "ok" {
			okCount++
		}
	}
	files := waitRun(t, run, okCount)
	seen := map[string]bool{}
	tls := 0
	for _, m := range files {
		id := regexp.MustCompile(`(?m)^Message-ID: (\S+)$`).FindSubmatch(m.Data)
		key := string(id[1]) + " " + m.deliveredTo()
		if seen[key] {
			t.Errorf("delivered twice: %s", key)
		}
		seen[key] = true
		sent := m.Data[bytes.Index(m.Data, []byte("Date: ")):]
		if sha256.Sum256(sent) != digests[string(id[1])] {
			t.Errorf("%s arrived changed (%s)", id[1], m.Path)
		}
		if bytes.Contains(m.head(), []byte("(using TLS")) {
			tls++
		}
	}
	if tls != len(files) {
		t.Errorf("%d of %d messages came over TLS", tls, len(files))
	}
	connects := connectionsCarrying(t, filepath.Join(peersDir(t), "postfix", "maillog"), logStart, "<tr."+run+".")
	if connects > 2*conns {
		t.Errorf("Postfix saw %d connections for -c %d", connects, conns)
	}
	t.Logf("Postfix saw %d connections", connects)
}

// connectionsCarrying counts the SMTP connections, as Postfix's log after offset shows them,
// that carried a message whose Message-ID starts with idPrefix: each smtpd process serves one
// connection at a time, so a connection is (smtpd pid, how many "connect from" lines that pid
// logged so far); a queue id belongs to the connection its "client=" line was logged in, and a
// message to the queue id of its "message-id=" line. Other tests' connections to the shared
// peer do not count.
func connectionsCarrying(t *testing.T, path string, offset int64, idPrefix string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if offset > int64(len(data)) {
		offset = 0
	}
	smtpd := regexp.MustCompile(`postfix/smtpd\[(\d+)\]: (?:connect from |([0-9A-F]+): client=)`)
	msgid := regexp.MustCompile(`postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=(\S+)`)
	seq := map[string]int{}     // pid -> connections so far
	conn := map[string]string{} // queue id -> "pid/seq"
	ours := map[string]bool{}   // "pid/seq" that carried our mail
	for _, l := range strings.Split(string(data[offset:]), "\n") {
		if m := smtpd.FindStringSubmatch(l); m != nil {
			if m[2] == "" {
				seq[m[1]]++
			} else {
				conn[m[2]] = fmt.Sprintf("%s/%d", m[1], seq[m[1]])
			}
		} else if m := msgid.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[2], idPrefix) {
			if c, ok := conn[m[1]]; ok {
				ours[c] = true
			}
		}
	}
	return len(ours)
}

// waitRun waits until n maildir files of this run have arrived and returns them.
func waitRun(t *testing.T, run string, n int) []mailFile {
	t.Helper()
	deadline := time.Now().Add(2 * mailWait)
	for {
		var found []mailFile
		entries, _ := os.ReadDir(maildir(t))
		for _, e := range entries {
			p := filepath.Join(maildir(t), e.Name())
			if headerContains(p, "<tr."+run+".") {
				data, err := os.ReadFile(p)
				if err == nil {
					found = append(found, mailFile{Path: p, Data: data})
				}
			}
		}
		if len(found) >= n || time.Now().After(deadline) {
			if len(found) != n {
				t.Fatalf("%d messages of this run in the maildir, want %d", len(found), n)
			}
			return found
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
