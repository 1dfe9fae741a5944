//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// stripper is a man in the middle between mxout and Postfix that removes STARTTLS from the EHLO
// reply and records every byte the client sends, to prove what crossed in clear.
type stripper struct {
	ln   net.Listener
	mu   sync.Mutex
	seen bytes.Buffer
	wg   sync.WaitGroup
}

func startStripper(t *testing.T, listen, upstream string) *stripper {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("listen %s: %v", listen, err)
	}
	s := &stripper{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.relay(c, upstream) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *stripper) relay(client net.Conn, upstream string) {
	defer client.Close()
	server, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { // client -> server, recorded
		io.Copy(io.MultiWriter(server, writerFunc(func(p []byte) {
			s.mu.Lock()
			s.seen.Write(p)
			s.mu.Unlock()
		})), client)
		server.Close()
	}()
	br := bufio.NewReader(server) // server -> client, STARTTLS lines dropped
	for {
		line, err := br.ReadString('\n')
		if strings.Contains(strings.ToUpper(line), "STARTTLS") {
			if strings.HasPrefix(line, "250 ") { // it was the last line: keep the reply well-formed
				client.Write([]byte("250 X-STRIPPED\r\n"))
			}
			continue
		}
		if _, werr := client.Write([]byte(line)); werr != nil || err != nil {
			return
		}
	}
}

func (s *stripper) clientBytes() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen.String()
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// TestStrippedSTARTTLSMandatory: under a mandatory rule, a server whose STARTTLS was stripped gets
// EHLO and QUIT, and not one byte of the envelope or the message.
func TestStrippedSTARTTLSMandatory(t *testing.T) {
	t.Parallel()
	p := startStripper(t, "127.0.0.1:0", "127.0.0.1:"+peerSMTPPort)
	_, port, _ := net.SplitHostPort(p.ln.Addr().String())
	home := tlsHome(t, port, "127.0.0.1:"+caFile(t)+"\n", nil)
	id := newMessageID(t)
	reports := delivery{home: home, host: "example.test", rcpt: []string{"tina@example.test"}}.run(t, message(id, "x", "secret text\n"))
	wantZ(t, reports, "I wasn't able to negotiate a STARTTLS connection with: 127.0.0.1 for 127.0.0.1. (#4.4.1)\n")
	wantOnlyHello(t, p.clientBytes())
}

// TestStrippedSTARTTLSOpportunistic: without a rule, the stripped session delivers in clear, as
// documented (docs/tls.md): opportunistic TLS cannot resist an active attacker.
func TestStrippedSTARTTLSOpportunistic(t *testing.T) {
	t.Parallel()
	p := startStripper(t, "127.0.0.1:0", "127.0.0.1:"+peerSMTPPort)
	_, port, _ := net.SplitHostPort(p.ln.Addr().String())
	id, rcpt := newMessageID(t), "tina@example.test"
	msg := message(id, rcpt, "in clear\n")
	reports := delivery{home: tlsHome(t, port, "", nil), host: "example.test", rcpt: []string{rcpt}}.run(t, msg)
	wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	if strings.Contains(reports[1].Text, "TLS") || !strings.Contains(p.clientBytes(), "MAIL FROM:") {
		t.Errorf("expected a delivery in clear; report %v", reports[1])
	}
	waitMail(t, id, 1)
}

// TestStrippedSTARTTLSDANE: mx2.example.test has TLSA records and its address, 127.0.0.2, is the
// stripping proxy. DANE makes TLS mandatory there: mxout refuses mx2 without sending the envelope
// and delivers through mx1, authenticated by DANE.
func TestStrippedSTARTTLSDANE(t *testing.T) {
	p := startStripper(t, "127.0.0.2:"+peerSMTPPort, "127.0.0.1:"+peerSMTPPort)
	id, rcpt := newMessageID(t), "tina@example.test"
	msg := message(id, rcpt, "DANE against a stripping proxy.\n")
	reports := dnsDelivery(t, "fallback.example.test", map[string]string{"notipme": notLoopback}, rcpt).run(t, msg)
	wantTLSAccepted(t, reports, id, msg, "TLS (TLSA validated)")
	if p.clientBytes() == "" {
		t.Fatal("the proxy for mx2 saw no connection: the test proves nothing")
	}
	wantOnlyHello(t, p.clientBytes())
}

// wantOnlyHello checks that the client sent nothing but EHLO/HELO and QUIT.
func wantOnlyHello(t *testing.T, sent string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(sent), "\r\n") {
		up := strings.ToUpper(line)
		if !strings.HasPrefix(up, "EHLO ") && !strings.HasPrefix(up, "HELO ") && up != "QUIT" {
			t.Errorf("sent in clear: %q (all: %q)", line, sent)
		}
	}
}
