//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mailWait is how long delivered mail may take to show up in the maildir (Postfix queues first).
const mailWait = 30 * time.Second

var msgSeq atomic.Int64

// newMessageID returns a Message-ID that no other test, run or process uses.
func newMessageID(t *testing.T) string {
	name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	return fmt.Sprintf("<%s.%d.%d.%d@mxout-it.example.test>", name, os.Getpid(), time.Now().UnixNano(), msgSeq.Add(1))
}

// message builds a complete message with LF line ends: fully qualified headers (so that Postfix
// adds and rewrites none), the given Message-ID, then body, which must end in LF.
func message(id, to, body string, extraHeaders ...string) []byte {
	var b strings.Builder
	b.WriteString("Date: Sun, 22 Nov 2026 10:00:00 +0000\n")
	b.WriteString("From: Integration Test <" + sender + ">\n")
	b.WriteString("To: " + to + "\n")
	b.WriteString("Subject: mxout integration " + id + "\n")
	b.WriteString("Message-ID: " + id + "\n")
	for _, h := range extraHeaders {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n")
	b.WriteString(body)
	return []byte(b.String())
}

// mailFile is one message file in the Postfix peer's maildir.
type mailFile struct {
	Path string
	Data []byte
}

// deliveredTo returns the address of the message's Delivered-To header, which Postfix adds per recipient.
func (m mailFile) deliveredTo() string {
	re := regexp.MustCompile(`(?m)^Delivered-To: (\S+)$`)
	if s := re.FindSubmatch(m.head()); s != nil {
		return string(s[1])
	}
	return ""
}

// queueID returns the queue id from the Received header Postfix put on top.
func (m mailFile) queueID() string {
	re := regexp.MustCompile(`\(Postfix\) with \S+ id ([0-9A-Za-z]+);`)
	if s := re.FindSubmatch(m.head()); s != nil {
		return string(s[1])
	}
	return ""
}

// head is the part of the file before the first empty line.
func (m mailFile) head() []byte {
	if i := bytes.Index(m.Data, []byte("\n\n")); i >= 0 {
		return m.Data[:i+1]
	}
	return m.Data
}

// maildir is where the Postfix peer stores mail for *@example.test.
func maildir(t *testing.T) string {
	return filepath.Join(peersDir(t), "postfix", "mail", "example.test", "new")
}

// findMail returns the maildir files whose header part contains id. Only the first 64 KiB of each
// file is searched for id, so big messages from earlier runs cost little; matches are read whole.
func findMail(t *testing.T, id string) []mailFile {
	t.Helper()
	dir := maildir(t)
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("reading the maildir: %v", err)
	}
	var found []mailFile
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !headerContains(path, id) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		found = append(found, mailFile{Path: path, Data: data})
	}
	return found
}

func headerContains(path, id string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false // Postfix may be renaming it; the next poll sees it
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i]
	}
	return bytes.Contains(head, []byte("Message-ID: "+id))
}

// waitMail polls the maildir until n files carry id and returns them; it fails the test when they
// do not arrive within mailWait or when more than n arrive.
func waitMail(t *testing.T, id string, n int) []mailFile {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		found := findMail(t, id)
		if len(found) > n {
			t.Fatalf("%d messages with %s in %s; want %d", len(found), id, maildir(t), n)
		}
		if len(found) == n {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d messages with %s in %s; want %d (see %s)", mailWait, len(found), id,
				maildir(t), n, filepath.Join(peersDir(t), "postfix", "maillog"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantStored checks that a stored message is the sent message, byte for byte, after the headers
// Postfix put in front of it, and that it was delivered to rcpt.
func wantStored(t *testing.T, m mailFile, sent []byte, rcpt string) {
	t.Helper()
	if got := m.deliveredTo(); got != rcpt {
		t.Errorf("%s: Delivered-To %q; want %q", m.Path, got, rcpt)
	}
	if !bytes.HasSuffix(m.Data, sent) {
		t.Errorf("%s does not end with the message as sent (%d bytes stored, %d sent); first difference: %s",
			m.Path, len(m.Data), len(sent), firstDiff(m.Data, sent))
	}
}

// firstDiff describes where stored (sent plus a prefix of added headers) and sent first differ.
func firstDiff(stored, sent []byte) string {
	i := bytes.Index(stored, sent[:min(len(sent), 200)])
	if i < 0 {
		return "the start of the message was not found"
	}
	rest := stored[i:]
	for j := 0; j < len(rest) && j < len(sent); j++ {
		if rest[j] != sent[j] {
			return fmt.Sprintf("offset %d: stored %q, sent %q", j, rest[j:min(j+40, len(rest))], sent[j:min(j+40, len(sent))])
		}
	}
	return fmt.Sprintf("lengths differ after the common part: stored %d, sent %d", len(rest), len(sent))
}
