//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/downgrade/mimetest"
)

// peerSevenBitPort is the Postfix peer's listener that announces neither 8BITMIME nor SMTPUTF8
// (test/peers/README.md).
const peerSevenBitPort = "2527"

// The hand-written messages of the downgrade test: what mailers send every day.
var (
	textMsg = "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n" +
		"Subject: caf\xc3\xa9 cr\xc3\xa8me\n\nD\xc3\xa9j\xc3\xa0 vu, na\xc3\xafve fa\xc3\xa7ade.\n=3D is not an escape here\n" +
		".a line with a leading dot\n" + strings.Repeat("\xe6\x97\xa5\xe6\x9c\xac", 200) + "\n"
	nestedMsg = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer=_1\"\n\npreamble\n" +
		"--outer=_1\nContent-Type: multipart/alternative; boundary=inner.2\n\n" +
		"--inner.2\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe\n" +
		"--inner.2\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n<p>Gr\xc3\xbc\xc3\x9fe</p>\n" +
		"--inner.2--\n" +
		"--outer=_1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n" +
		"Content-Disposition: attachment; filename=\"b.bin\"\n\n\x00\x01\xff\xfe\x80binary\n" +
		"--outer=_1\nContent-Type: text/plain\n\nseven bit, untouched\n--outer=_1--\n"
	rfc822Msg = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=fw\n\n" +
		"--fw\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nForwarded: \xc3\xa0 lire\n" +
		"--fw\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n" +
		"From: Ann <ann@example.org>\nSubject: r\xc3\xa9union\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n" +
		"Content-Transfer-Encoding: 8bit\n\nr\xe9union \xe0 midi\n--fw--\n"
)

// sevenBitHead starts every message of these tests, so that the message can be found after the
// fields Postfix puts in front of it.
const sevenBitHead = "Date: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <"

// sevenBitJob is one transport job with its message, as stored under the test's directory.
type sevenBitJob struct {
	id   string // the job's id and the Message-ID's distinguishing part
	sent []byte // the message as given to mxout
}

// sevenBitRun writes each message (after Date, a unique Message-ID, From and To, so that Postfix
// adds none) to a file, runs them all through one mxout transport to the Postfix port with args,
// and returns the jobs and the status lines by job id.
func sevenBitRun(t *testing.T, port string, msgs [][]byte, args ...string) ([]sevenBitJob, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	var jobs []sevenBitJob
	var in bytes.Buffer
	for i, m := range msgs {
		id := strings.Trim(newMessageID(t), "<>")
		sent := append([]byte(sevenBitHead+id+">\nFrom: <"+sender+">\nTo: d@example.test\n"), m...)
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(path, sent, 0o644); err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(map[string]any{"id": id, "sender": sender, "recipients": []string{"d@example.test"}, "file": path})
		in.Write(append(j, '\n'))
		jobs = append(jobs, sevenBitJob{id, sent})
	}
	out, _ := runTransport(t, in.Bytes(), append([]string{"-F", "[127.0.0.1]:" + port}, args...)...)
	status := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			t.Fatalf("status line %q", sc.Text())
		}
		status[f[0]] = f[2] + " " + f[3] + " " + f[4]
	}
	return jobs, status
}

// arrived waits for every job's message in the Postfix maildir and returns each as stored,
// without the header fields Postfix put in front of it, by job id. The maildir is shared with
// every other test and run, so it is read once per poll for all of the jobs.
func arrived(t *testing.T, jobs []sevenBitJob) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	deadline := time.Now().Add(mailWait)
	for len(got) < len(jobs) {
		entries, err := os.ReadDir(maildir(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(maildir(t), e.Name()))
			if err != nil || !bytes.Contains(data, []byte("\n"+sevenBitHead)) {
				continue
			}
			for _, j := range jobs {
				if i := bytes.Index(data, []byte("\n"+sevenBitHead+j.id+">")); i >= 0 {
					if _, dup := got[j.id]; dup {
						t.Errorf("%s arrived twice", j.id)
					}
					got[j.id] = data[i+1:]
				}
			}
		}
		if len(got) < len(jobs) {
			if time.Now().After(deadline) {
				t.Fatalf("after %v, %d of %d messages arrived in %s", mailWait, len(got), len(jobs), maildir(t))
			}
			got = map[string][]byte{}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return got
}

// wantSameTree checks that the stored message is 7-bit and that go-message reads from it the
// tree of the message sent: same parts, same fields (Content-Transfer-Encoding aside, encoded
// words decoded), and the same decoded bodies, byte for byte.
func wantSameTree(t *testing.T, j sevenBitJob, got []byte) {
	t.Helper()
	for i, c := range got {
		if c >= 0x80 {
			t.Errorf("%s arrived with an 8-bit byte at %d", j.id, i)
			break
		}
	}
	want, err := mimetest.ReadTree(j.sent)
	if err != nil {
		t.Fatalf("%s: go-message cannot read the message sent: %v", j.id, err)
	}
	have, err := mimetest.ReadTree(got)
	if err != nil {
		t.Fatalf("%s: go-message cannot read the message stored: %v\n%s", j.id, err, got)
	}
	if err := mimetest.Same(want, have, "message"); err != nil {
		t.Errorf("%s: %v\nsent:\n%q\nstored:\n%q", j.id, err, j.sent, got)
	}
}

// TestDowngradeRealServer: 8-bit text, a nested multipart with a binary attachment, and a
// forwarded message/rfc822, sent with mxout transport to a Postfix that does not announce
// 8BITMIME, arrive 7-bit, and go-message decodes from them the original parts byte for byte.
// A From field with UTF-8 cannot be downgraded (no SMTPUTF8 there): error 5.6.9, nothing sent.
func TestDowngradeRealServer(t *testing.T) {
	utf8From := "From: J\xc3\xbcrgen <j@example.org>\nSubject: x\n\nb\xc3\xa4d\n"
	jobs, status := sevenBitRun(t, peerSevenBitPort, [][]byte{[]byte(textMsg), []byte(nestedMsg), []byte(rfc822Msg), []byte(utf8From)})
	for _, j := range jobs[:3] {
		if st := status[j.id]; !strings.HasPrefix(st, "ok 2.0.0 ") {
			t.Fatalf("%s: %q", j.id, st)
		}
	}
	stored := arrived(t, jobs[:3])
	for _, j := range jobs[:3] {
		got := stored[j.id]
		if !bytes.Contains(got, []byte("Content-Transfer-Encoding: quoted-printable")) && !bytes.Contains(got, []byte("Content-Transfer-Encoding: base64")) {
			t.Errorf("%s arrived without any re-encoded part:\n%s", j.id, got)
		}
		wantSameTree(t, j, got)
	}
	bad := jobs[3]
	if st := status[bad.id]; !strings.HasPrefix(st, "error 5.6.9 ") || !strings.Contains(st, "SMTPUTF8") {
		t.Errorf("UTF-8 From to a server without SMTPUTF8: %q; want error 5.6.9", st)
	}
	if n := len(findMail(t, "<"+bad.id+">")); n != 0 {
		t.Errorf("the undowngradable message arrived %d times", n)
	}
}

// TestDowngradeEightBitFlag: with -8 the same server gets the 8-bit text as it is (the
// reference's behaviour, and what qmail-remote keeps), byte for byte.
func TestDowngradeEightBitFlag(t *testing.T) {
	jobs, status := sevenBitRun(t, peerSevenBitPort, [][]byte{[]byte(textMsg)}, "-8")
	if st := status[jobs[0].id]; !strings.HasPrefix(st, "ok ") {
		t.Fatalf("%q", st)
	}
	if got := arrived(t, jobs)[jobs[0].id]; !bytes.Equal(got, jobs[0].sent) {
		t.Errorf("-8: the message arrived changed; first difference: %s", firstDiff(got, jobs[0].sent))
	}
}

// TestDowngradeSevenBitFlag: with -7 a server that offers 8BITMIME gets the message 7-bit too.
func TestDowngradeSevenBitFlag(t *testing.T) {
	jobs, status := sevenBitRun(t, peerSMTPPort, [][]byte{[]byte(nestedMsg)}, "-7")
	if st := status[jobs[0].id]; !strings.HasPrefix(st, "ok ") {
		t.Fatalf("%q", st)
	}
	wantSameTree(t, jobs[0], arrived(t, jobs)[jobs[0].id])
}

// TestDowngradeProperty: three dozen generated MIME trees (seeded, so a failure can be
// replayed) through the real server without 8BITMIME: each arrives 7-bit and decodes to the
// same tree. Messages with a CR outside a line ending are left out (SMTP makes it a line
// ending, which is not the downgrade's doing), as are ones without a final line ending (SMTP
// cannot carry them).
func TestDowngradeProperty(t *testing.T) {
	var msgs [][]byte
	eight := 0
	for seed := int64(1); len(msgs) < 36; seed++ {
		m := mimetest.NewGen(seed, "\n", false).Message()
		if bytes.IndexByte(m, '\r') >= 0 || !bytes.HasSuffix(m, []byte("\n")) {
			continue
		}
		msgs = append(msgs, m)
		if bytes.ContainsFunc(m, func(r rune) bool { return r >= 0x80 }) {
			eight++
		}
	}
	if eight < len(msgs)/2 {
		t.Fatalf("only %d of %d generated messages have 8-bit bytes: the property says little", eight, len(msgs))
	}
	jobs, status := sevenBitRun(t, peerSevenBitPort, msgs)
	for _, j := range jobs {
		if st := status[j.id]; !strings.HasPrefix(st, "ok 2.0.0 ") {
			t.Fatalf("%s: %q\n%q", j.id, st, j.sent)
		}
	}
	stored := arrived(t, jobs)
	for _, j := range jobs {
		wantSameTree(t, j, stored[j.id])
	}
}
