//go:build integration

package integration

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	msgpkg "github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/qmtp"
)

// The QMTP peer (test/peers/qmtp.sh): mailfront on 2209, stunnel in front of it on 26209.
var (
	peerQMTP  = netip.MustParseAddrPort("127.0.0.1:2209")
	peerQMTPS = netip.MustParseAddrPort("127.0.0.1:26209")
)

// qmtpTimeout bounds each write and each response read of the tests' QMTP clients.
const qmtpTimeout = 10 * time.Second

// qmtpQueue is the directory where the QMTP peer stores what it accepts; the test fails when
// the peer was not started.
func qmtpQueue(t *testing.T) string {
	t.Helper()
	d := peersDir(t)
	if _, err := os.Stat(filepath.Join(d, "pids", "qmtp.pid")); err != nil {
		t.Fatalf("no QMTP peer in %s (%v); run `bash test/peers/qmtp.sh %s`", d, err, d)
	}
	return filepath.Join(d, "qmtp", "queue", "new")
}

// qmtpDial connects to addr, through a QMTPS handshake when cfg is set.
func qmtpDial(t *testing.T, addr netip.AddrPort, cfg *tls.Config) *qmtp.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		tc, err := qmtp.HandshakeTLS(t.Context(), conn, cfg, addr, qmtpTimeout)
		if err != nil {
			conn.Close()
			t.Fatal(err)
		}
		conn = tc
	}
	c := qmtp.NewClient(conn, qmtp.Options{Peer: addr, Timeout: qmtpTimeout})
	t.Cleanup(func() { c.Close() })
	return c
}

// bytesMessage is a message held in memory.
type bytesMessage []byte

func (m bytesMessage) Open() io.Reader { return bytes.NewReader(m) }

// queued is one file of the QMTP peer's queue.
type queued struct {
	Sender     string
	Recipients []string
	Message    []byte
}

// qmtpFind waits until a file in the QMTP peer's queue holds id, and parses it: the sender and
// each recipient end with NUL, the message follows (test/peers/README.md).
func qmtpFind(t *testing.T, id string, nrcpt int) queued {
	t.Helper()
	dir := qmtpQueue(t)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if q, ok := qmtpLookup(t, dir, id, nrcpt); ok {
			return q
		}
	}
	t.Fatalf("no file with %s in %s", id, dir)
	return queued{}
}

// qmtpLookup is one look through the queue for id.
func qmtpLookup(t *testing.T, dir, id string, nrcpt int) (queued, bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !bytes.Contains(data, []byte(id)) {
			continue
		}
		parts := bytes.SplitN(data, []byte{0}, nrcpt+2)
		if len(parts) != nrcpt+2 {
			t.Fatalf("%s: not sender, %d recipients and a message: %q", e.Name(), nrcpt, data)
		}
		q := queued{Sender: string(parts[0]), Message: parts[nrcpt+1]}
		for _, r := range parts[1 : nrcpt+1] {
			q.Recipients = append(q.Recipients, string(r))
		}
		return q, true
	}
	return queued{}, false
}

// TestQMTPAccepted: a message with CRLF line ends reaches mailfront in LF form, byte for byte, with
// its envelope; the response is K.
func TestQMTPAccepted(t *testing.T) {
	id := newMessageID(t)
	lf := message(id, "qmtp-ok@example.test", "body line\n\nlone\rcr and 8 bit \xc3\xa9\n")
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	c := qmtpDial(t, peerQMTP, nil)
	rs, err := c.Send(t.Context(), bytesMessage(crlf), sender, []string{"qmtp-ok@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Accepted() {
		t.Fatalf("responses %v; want one K", rs)
	}
	q := qmtpFind(t, id, 1)
	if q.Sender != sender || strings.Join(q.Recipients, " ") != "qmtp-ok@example.test" {
		t.Errorf("envelope %q %q", q.Sender, q.Recipients)
	}
	if !bytes.Equal(q.Message, lf) {
		t.Errorf("stored %q\nwant   %q", q.Message, lf)
	}
}

// TestQMTPPerRecipient: K, Z and D from the real server, one package each on one connection
// (mailfront answers once per package; see TestQMTPOneResponsePerPackage).
func TestQMTPPerRecipient(t *testing.T) {
	c := qmtpDial(t, peerQMTP, nil)
	tests := []struct {
		rcpt   string
		status byte
		text   string
	}{
		{"qmtp-k@example.test", qmtp.StatusAccepted, "2.6.0 Message accepted."},
		{"reject-qmtp-4@example.test", qmtp.StatusTemporary, "deferred by test policy (#4.3.0)"},
		{"reject-qmtp-5@example.test", qmtp.StatusPermanent, "no such user here (#5.1.1)"},
		{"qmtp-k2@example.test", qmtp.StatusAccepted, "2.6.0 Message accepted."},
	}
	for _, tt := range tests {
		id := newMessageID(t)
		rs, err := c.Send(t.Context(), bytesMessage(message(id, tt.rcpt, "hi\n")), sender, []string{tt.rcpt})
		if err != nil {
			t.Fatalf("%s: %v", tt.rcpt, err)
		}
		if len(rs) != 1 || rs[0].Status != tt.status || rs[0].Text != tt.text {
			t.Errorf("%s: %q; want %c%s", tt.rcpt, rs, tt.status, tt.text)
		}
		if tt.status == qmtp.StatusAccepted {
			qmtpFind(t, id, 1)
		} else if _, ok := qmtpLookup(t, qmtpQueue(t), id, 1); ok {
			t.Errorf("%s: refused, yet stored", tt.rcpt)
		}
	}
}

// TestQMTPOneResponsePerPackage: mailfront breaks qmtp.txt by answering a package for two
// recipients once. The client reads the first response, then times out waiting for the second:
// the second recipient's fate is unknown (MaybeDelivered), and indeed mailfront stored it.
func TestQMTPOneResponsePerPackage(t *testing.T) {
	conn, err := net.DialTimeout("tcp", peerQMTP.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := qmtp.NewClient(conn, qmtp.Options{Peer: peerQMTP, Timeout: time.Second})
	defer c.Close()
	id := newMessageID(t)
	rcpts := []string{"qmtp-a@example.test", "qmtp-b@example.test"}
	rs, err := c.Send(t.Context(), bytesMessage(message(id, rcpts[0], "two\n")), sender, rcpts)
	var e *qmtp.Error
	if !errors.As(err, &e) || e.Phase != qmtp.PhaseResponse || e.Index != 1 || !errors.Is(err, qmtp.ErrTimeout) ||
		!e.MaybeDelivered() || len(rs) != 1 || !rs[0].Accepted() {
		t.Fatalf("responses %q, err %v; want one K, then a timeout for the second", rs, err)
	}
	if q := qmtpFind(t, id, 2); strings.Join(q.Recipients, " ") != strings.Join(rcpts, " ") {
		t.Errorf("stored for %q", q.Recipients)
	}
}

// TestQMTPPipe: a message read from a pipe (larger than message.MemoryLimit, so it is spooled)
// has a known length and goes out whole; s/qmail's QMTP client fails here.
func TestQMTPPipe(t *testing.T) {
	id := newMessageID(t)
	body := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\r\n", msgpkg.MemoryLimit/64+100)
	want := message(id, "qmtp-pipe@example.test", strings.ReplaceAll(body, "\r\n", "\n"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(message(id, "qmtp-pipe@example.test", body))
		w.Close()
	}()
	m, err := msgpkg.Read(r, t.TempDir())
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := qmtpDial(t, peerQMTP, nil)
	rs, err := c.Send(t.Context(), m, sender, []string{"qmtp-pipe@example.test"})
	if err != nil || len(rs) != 1 || !rs[0].Accepted() {
		t.Fatalf("responses %q, err %v", rs, err)
	}
	if q := qmtpFind(t, id, 1); !bytes.Equal(q.Message, want) {
		t.Errorf("stored %d bytes, want %d (%s)", len(q.Message), len(want), firstDiff(q.Message, want))
	}
}

// TestQMTPS: QMTP inside TLS from the first byte, verified with the peers' CA; a name the
// certificate does not carry fails the handshake.
func TestQMTPS(t *testing.T) {
	pem, err := os.ReadFile(caFile(t))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in ca.pem")
	}
	id := newMessageID(t)
	c := qmtpDial(t, peerQMTPS, &tls.Config{RootCAs: roots, ServerName: "mx1.example.test"})
	rs, err := c.Send(t.Context(), bytesMessage(message(id, "qmtps@example.test", "over tls\n")), sender, []string{"qmtps@example.test"})
	if err != nil || len(rs) != 1 || !rs[0].Accepted() {
		t.Fatalf("responses %q, err %v", rs, err)
	}
	qmtpFind(t, id, 1)

	conn, err := net.DialTimeout("tcp", peerQMTPS.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = qmtp.HandshakeTLS(t.Context(), conn, &tls.Config{RootCAs: roots, ServerName: "other.insecure.test"}, peerQMTPS, qmtpTimeout)
	var e *qmtp.Error
	if !errors.As(err, &e) || e.Phase != qmtp.PhaseTLS || !errors.Is(err, qmtp.ErrTLS) {
		t.Errorf("wrong name: %v", err)
	}
}

// dropProxy forwards connections to the QMTP peer and drops them: with afterPackage, once the
// server starts to answer (the package went through whole, and nothing of the answer comes
// back); otherwise after the first 64 kB from the client, leaving the rest unread.
func dropProxy(t *testing.T, afterPackage bool) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer client.Close()
				server, err := net.Dial("tcp", peerQMTP.String())
				if err != nil {
					return
				}
				defer server.Close()
				if !afterPackage {
					io.CopyN(server, client, 64<<10)
					return // both closed; the client's next writes fail
				}
				go io.Copy(server, client)
				server.Read(make([]byte, 1)) // the first byte of the answer: the package is complete
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// TestQMTPDropped: a connection lost after the whole package went out is a PhaseResponse failure
// that may have delivered (and the real server did store the message); lost while the message
// was going out, it is a PhaseSend failure and the server discards the incomplete package.
func TestQMTPDropped(t *testing.T) {
	t.Run("after the package", func(t *testing.T) {
		addr := dropProxy(t, true)
		c := qmtpDial(t, addr, nil)
		id := newMessageID(t)
		rs, err := c.Send(t.Context(), bytesMessage(message(id, "qmtp-drop@example.test", "x\n")), sender, []string{"qmtp-drop@example.test"})
		var e *qmtp.Error
		if !errors.As(err, &e) || e.Phase != qmtp.PhaseResponse || !errors.Is(err, qmtp.ErrConnection) || !e.MaybeDelivered() || len(rs) != 0 {
			t.Fatalf("responses %q, err %v", rs, err)
		}
		qmtpFind(t, id, 1) // delivered indeed: the duplicate risk is real
	})
	t.Run("while sending", func(t *testing.T) {
		addr := dropProxy(t, false)
		c := qmtpDial(t, addr, nil)
		id := newMessageID(t)
		big := message(id, "qmtp-drop@example.test", strings.Repeat(strings.Repeat("y", 99)+"\n", 200000)) // 20 MB
		_, err := c.Send(t.Context(), bytesMessage(big), sender, []string{"qmtp-drop@example.test"})
		var e *qmtp.Error
		if !errors.As(err, &e) || e.Phase != qmtp.PhaseSend || !errors.Is(err, qmtp.ErrConnection) || e.MaybeDelivered() {
			t.Fatalf("err %v", err)
		}
		time.Sleep(time.Second)
		if _, ok := qmtpLookup(t, qmtpQueue(t), id, 1); ok {
			t.Error("the incomplete package was stored")
		}
	})
}
