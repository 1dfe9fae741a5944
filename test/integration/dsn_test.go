//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// findReport polls the maildir for a file delivered to rcpt that contains every one of parts.
func findReport(t *testing.T, rcpt string, parts ...string) mailFile {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		entries, _ := os.ReadDir(maildir(t))
		for _, e := range entries {
			p := filepath.Join(maildir(t), e.Name())
			data, err := os.ReadFile(p)
			if err != nil || !bytes.Contains(data, []byte("Delivered-To: "+rcpt+"\n")) {
				continue
			}
			return mailFile{Path: p, Data: data}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message for %s in %s after %v", rcpt, maildir(t), mailWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTransportDSN (RFC 3461): the Postfix peer offers DSN, so a job's ret, envid, notify and
// orcpt reach it. What Postfix does with them is the proof: NOTIFY=SUCCESS makes it send the
// sender (here a mailbox of the peer) a delivery report for the recipient, which quotes the
// ENVID and the ORCPT as decoded from their xtext, and RET=HDRS makes it return the message's
// header only. The recipient without NOTIFY gets its message and no report.
func TestTransportDSN(t *testing.T) {
	run := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano())
	from := "dsn-sender-" + run + "@example.test"
	rcpt := "dsn-rcpt-" + run + "@example.test"
	envid := "env+" + run + "=x" // '+' and '=' must travel xtext-encoded
	orcpt := "orig+" + run + "@example.test"
	id := fmt.Sprintf("<dsn.%s@mxout-it.example.test>", run)
	text := message(id, rcpt, "the body, not returned with RET=HDRS\n")
	path := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	job, _ := json.Marshal(map[string]any{"id": "dsn", "sender": from, "recipients": []string{rcpt}, "file": path,
		"ret": "hdrs", "envid": envid, "notify": "SUCCESS", "orcpt": []string{"rfc822;" + orcpt}})
	out, errOut := runTransport(t, append(job, '\n'), "-p", peerSMTPPort, "-C", transportControl(t))
	if !strings.Contains(out, "\tok\t") {
		t.Fatalf("status %q\nstderr: %s", out, errOut)
	}
	m := waitMail(t, id, 1)[0]
	wantStored(t, m, text, rcpt)

	report := findReport(t, from)
	for _, want := range []string{
		"Original-Envelope-Id: " + envid,
		"Original-Recipient: rfc822;" + orcpt,
		"Final-Recipient: rfc822; " + rcpt,
		"Action: delivered",
		"Content-Type: text/rfc822-headers",
		"Message-ID: " + id,
	} {
		if !bytes.Contains(report.Data, []byte(want)) {
			t.Errorf("the delivery report lacks %q:\n%s", want, report.Data)
		}
	}
	if bytes.Contains(report.Data, []byte("the body, not returned")) {
		t.Errorf("RET=HDRS, but the report returned the body:\n%s", report.Data)
	}
}

// TestTransportRequireTLSRefused (RFC 8689): the Postfix peer is reached over DANE-verified TLS
// but does not offer REQUIRETLS, so a REQUIRETLS job fails permanently with 5.7.30 and nothing
// of it is delivered; the same message without requiretls is delivered.
func TestTransportRequireTLSRefused(t *testing.T) {
	run := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano())
	dir := t.TempDir()
	var jobs bytes.Buffer
	ids := map[bool]string{}
	for _, req := range []bool{true, false} {
		id := fmt.Sprintf("<reqtls.%s.%v@mxout-it.example.test>", run, req)
		ids[req] = id
		path := filepath.Join(dir, fmt.Sprint(req))
		if err := os.WriteFile(path, message(id, "reqtls@example.test", "hello\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		job, _ := json.Marshal(map[string]any{"id": fmt.Sprint(req), "sender": sender, "recipients": []string{"reqtls@example.test"},
			"file": path, "requiretls": req})
		jobs.Write(append(job, '\n'))
	}
	out, errOut := runTransport(t, jobs.Bytes(), "-p", peerSMTPPort, "-C", transportControl(t))
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(l, "\t")
		switch {
		case len(f) != 5:
			t.Fatalf("status line %q (stderr %s)", l, errOut)
		case f[0] == "true" && (f[2] != "error" || f[3] != "5.7.30" || !strings.Contains(f[4], "REQUIRETLS")):
			t.Errorf("REQUIRETLS job: %q, want error 5.7.30", l)
		case f[0] == "false" && f[2] != "ok":
			t.Errorf("ordinary job: %q, want ok", l)
		}
	}
	waitMail(t, ids[false], 1)
	if got := findMail(t, ids[true]); len(got) != 0 {
		t.Errorf("the REQUIRETLS message was delivered: %s", got[0].Path)
	}
}
