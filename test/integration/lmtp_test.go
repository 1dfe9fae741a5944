//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// peerLMTPPort is the Dovecot LMTP peer's TCP port (test/peers/README.md).
const peerLMTPPort = "2424"

// lmtpMail returns the files in the Dovecot peer's maildir of user@example.test that carry id.
func lmtpMail(t *testing.T, user, id string) []mailFile {
	t.Helper()
	dir := filepath.Join(peersDir(t), "lmtp", "mail", "example.test", user, "new")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var found []mailFile
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if headerContains(p, id) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, mailFile{Path: p, Data: data})
		}
	}
	return found
}

// TestLMTPTransport: mxout transport -M delivers to Dovecot's LMTP over TCP and over its UNIX
// socket. alice@ and bob@ land in their maildirs, byte for byte; full@ fails with 552 5.2.2
// and tempfail@ is deferred with 451 4.2.0 in the same transaction, each from its own reply
// after the final dot; a recipient refused at RCPT keeps that refusal.
func TestLMTPTransport(t *testing.T) {
	socket := filepath.Join(peersDir(t), "lmtp", "run", "lmtp")
	for _, tc := range []struct {
		name string
		args []string
		host string
	}{
		{"tcp", []string{"-M", "-F", "[127.0.0.1]:" + peerLMTPPort}, "[127.0.0.1]"},
		{"unix", []string{"-M", "-F", "unix:" + socket}, "unix:" + socket},
		{"unix without -M", []string{"-F", "unix:" + socket}, "unix:" + socket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newMessageID(t)
			msg := message(id, "alice@example.test", "one message, four replies\n.a line with a dot\nd\xc3\xa9j\xc3\xa0 vu\n",
				"MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit")
			path := filepath.Join(t.TempDir(), "msg")
			if err := os.WriteFile(path, msg, 0o644); err != nil {
				t.Fatal(err)
			}
			rcpts := []string{"alice@example.test", "full@example.test", "nobody@example.test", "tempfail@example.test", "bob@example.test"}
			job, _ := json.Marshal(map[string]any{"id": "l1", "sender": sender, "recipients": rcpts, "file": path})
			out, _ := runTransport(t, append(job, '\n'), append(tc.args, "--json")...)
			var got struct {
				Status, Host, Protocol string
				Recipients             []struct {
					Address, Status, DSN, Text string
					Code                       int
					DuplicateRisk              bool `json:"duplicate_risk"`
				}
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Status != "partial" || got.Protocol != "lmtp" || got.Host != tc.host {
				t.Errorf("status %q protocol %q host %q; want partial, lmtp, %s", got.Status, got.Protocol, got.Host, tc.host)
			}
			want := []struct {
				status, dsn string
				code        int
				after       string // the command whose reply decided
			}{
				{"ok", "2.0.0", 250, "end of data"}, {"error", "5.2.2", 552, "end of data"}, {"error", "5.1.1", 550, "RCPT TO"},
				{"deferred", "4.2.0", 451, "end of data"}, {"ok", "2.0.0", 250, "end of data"},
			}
			if len(got.Recipients) != len(want) {
				t.Fatalf("%d recipients in %s", len(got.Recipients), out)
			}
			for i, w := range want {
				r := got.Recipients[i]
				if r.Address != rcpts[i] || r.Status != w.status || r.DSN != w.dsn || r.Code != w.code ||
					!strings.Contains(r.Text, ": "+w.after+": ") || !strings.Contains(r.Text, "<"+rcpts[i]+">") || r.DuplicateRisk {
					t.Errorf("%s: %+v; want %s %s %d after %s", rcpts[i], r, w.status, w.dsn, w.code, w.after)
				}
			}
			for _, user := range []string{"alice", "bob"} {
				files := lmtpMail(t, user, id)
				if len(files) != 1 {
					t.Fatalf("%d copies of %s for %s", len(files), id, user)
				}
				if d := files[0].Data; !strings.HasSuffix(string(d), string(msg)) {
					t.Errorf("%s: not the message as sent; first difference: %s", files[0].Path, firstDiff(d, msg))
				}
			}
			for _, user := range []string{"full", "tempfail"} {
				if n := len(lmtpMail(t, user, id)); n != 0 {
					t.Errorf("%d copies for %s", n, user)
				}
			}
		})
	}
}
