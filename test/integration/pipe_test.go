//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Postfix instance that calls mxout deliver through pipe(8) (test/peers/postfix-pipe.sh).
const pipeBounceSender = "it@bounces.test"

// pipePeer returns the pipe instance's directory, failing when it was not started.
func pipePeer(t *testing.T) string {
	t.Helper()
	d := peersDir(t)
	if _, err := os.Stat(filepath.Join(d, "pids", "postfix-pipe.pid")); err != nil {
		t.Fatalf("no postfix-pipe peer in %s (%v): run `bash test/peers/postfix-pipe.sh %s` (up.sh starts it)", d, err, d)
	}
	return filepath.Join(d, "postfix-pipe")
}

// pipeSend injects msg for rcpt into the pipe instance with its sendmail(1), as a local user
// would, and returns the queue id that instance gave it (from its log).
func pipeSend(t *testing.T, rcpt, id string, msg []byte) string {
	t.Helper()
	p := pipePeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/sbin/sendmail", "-C", filepath.Join(p, "etc"), "-i", "-f", pipeBounceSender, rcpt)
	cmd.Stdin = bytes.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail -C %s/etc %s: %v\n%s", p, rcpt, err, out)
	}
	m := waitLog(t, filepath.Join(p, "maillog"), regexp.MustCompile(`: ([0-9A-F]+): message-id=`+regexp.QuoteMeta(id)))
	return m[1]
}

// waitLog polls a log until a line matches re and returns its submatches.
func waitLog(t *testing.T, path string, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if m := re.FindStringSubmatch(string(data)); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v no line of %s matches %s", mailWait, path, re)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pipeStatus waits for the pipe(8) delivery line of queue id qid to rcpt and returns it.
func pipeStatus(t *testing.T, qid, rcpt string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^.*postfix/pipe\[\d+\]: ` + qid + `: to=<` + regexp.QuoteMeta(rcpt) + `>, relay=mxout, .*$`)
	return waitLog(t, filepath.Join(pipePeer(t), "maillog"), re)[0]
}

// TestPostfixPipeDelivers: mail injected with sendmail into a Postfix whose transport is mxout
// deliver through pipe(8) arrives at the receiving peer intact (dot lines, 8-bit text, a long
// line), and Postfix logs status=sent with mxout's status line.
func TestPostfixPipeDelivers(t *testing.T) {
	id := newMessageID(t)
	rcpt := "pipe-ok@example.test"
	body := "first line\n.\n..two dots\n. dot space\nsmörgåsbord 8-bit\n" + strings.Repeat("long ", 200) + "\nlast line\n"
	msg := message(id, rcpt, body)
	qid := pipeSend(t, rcpt, id, msg)
	line := pipeStatus(t, qid, rcpt)
	if !strings.Contains(line, "status=sent") || !strings.Contains(line, "dsn=2.0.0") ||
		!strings.Contains(line, "- "+rcpt+" ok 2.0.0 ") {
		t.Errorf("Postfix's log: %s\nwant status=sent with mxout's status line", line)
	}
	got := waitMail(t, id, 1)
	wantStored(t, got[0], msg, rcpt)
}

// TestPostfixPipeBounces: a recipient the receiver refuses with 550 makes the pipe instance
// bounce: its log says status=bounced with mxout's text (the server's reply), and the bounce
// reaches the sender.
func TestPostfixPipeBounces(t *testing.T) {
	id := newMessageID(t)
	rcpt := "reject-550@example.test"
	qid := pipeSend(t, rcpt, id, message(id, rcpt, "bounce me\n"))
	line := pipeStatus(t, qid, rcpt)
	if !strings.Contains(line, "status=bounced") || !strings.Contains(line, "dsn=5.7.1") ||
		!strings.Contains(line, "RCPT TO: 550 5.7.1 <reject-550@example.test>: Recipient address rejected") {
		t.Errorf("Postfix's log: %s\nwant status=bounced, dsn=5.7.1 and the receiver's reply", line)
	}
	dir := filepath.Join(pipePeer(t), "mail", "bounces.test", "new")
	deadline := time.Now().Add(mailWait)
	for {
		if bounce := findIn(t, dir, id); bounce != nil {
			if !bytes.Contains(bounce, []byte("550 5.7.1")) || !bytes.Contains(bounce, []byte("Status: 5.7.1")) {
				t.Errorf("the bounce does not carry the refusal:\n%s", bounce)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bounce for %s in %s", id, dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findIn returns the first file of dir that contains s, or nil.
func findIn(t *testing.T, dir, s string) []byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && bytes.Contains(data, []byte(s)) {
			return data
		}
	}
	return nil
}

// TestPostfixPipeDefers: a 450 from the receiver, and a destination where nothing listens,
// make the pipe instance defer (exit 75), with mxout's text in its log. The deferred messages
// are then deleted from its queue.
func TestPostfixPipeDefers(t *testing.T) {
	for _, tc := range []struct{ rcpt, dsn, text string }{
		{"reject-450@example.test", "dsn=4.7.1", "RCPT TO: 450 4.7.1 <reject-450@example.test>: Recipient address rejected"},
		{"nobody@dead.test", "dsn=4.4.1", "connection refused"},
	} {
		t.Run(tc.rcpt, func(t *testing.T) {
			id := newMessageID(t)
			qid := pipeSend(t, tc.rcpt, id, message(id, tc.rcpt, "defer me\n"))
			line := pipeStatus(t, qid, tc.rcpt)
			if !strings.Contains(line, "status=deferred") || !strings.Contains(line, tc.dsn) || !strings.Contains(line, tc.text) {
				t.Errorf("Postfix's log: %s\nwant status=deferred, %s and %q", line, tc.dsn, tc.text)
			}
			cmd := exec.Command("/usr/sbin/postsuper", "-c", filepath.Join(pipePeer(t), "etc"), "-d", qid)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("postsuper -d %s: %v %s", qid, err, out)
			}
		})
	}
}
