// Package dnstest runs an in-process DNS server with canned answers on 127.0.0.1, over UDP and
// TCP on the same port, for the tests of the dns package and of the packages that use it
// (route, dane). It records every query so tests can check the flags a client sent. It must
// not know mail routing: a zone is only questions and canned responses.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	mdns "github.com/miekg/dns"
)

// Reply is the canned response to one question. The zero Reply is NOERROR with no records
// (NODATA) and the AD bit clear. Over UDP, an answer larger than the client's EDNS0 payload
// size (512 bytes without EDNS0) is truncated with TC set, as a real server does.
type Reply struct {
	Rcode    int      // RCODE, e.g. mdns.RcodeServerFailure; 0 is NOERROR
	AD       bool     // set the AD bit
	Answer   []string // answer records in zone-file syntax: "mx.example.test. 300 IN A 192.0.2.1"
	Truncate bool     // over UDP, answer with TC set and no records, so the client retries over TCP
	Drop     bool     // never answer, over UDP or TCP
}

// Zone maps a question, written "name. TYPE" ("example.test. MX"; the name's case does not
// matter), to its Reply. A question not in the zone is answered REFUSED.
type Zone map[string]Reply

// Query is one question the server received.
type Query struct {
	Key     string // "name. TYPE", name in lower case
	Net     string // "udp" or "tcp"
	RD, AD  bool   // header flags
	DO      bool   // EDNS0 DO bit; false without EDNS0
	UDPSize uint16 // EDNS0 payload size; 0 without EDNS0
}

// Server is a running fake server. It is stopped by the test's cleanup.
type Server struct {
	addr    string
	zone    map[string]parsed
	mu      sync.Mutex
	queries []Query
}

type parsed struct {
	Reply
	rrs []mdns.RR
}

// Start parses zone (failing the test on a bad record) and serves it on 127.0.0.1 until the
// test ends.
func Start(t testing.TB, zone Zone) *Server {
	t.Helper()
	s := &Server{zone: make(map[string]parsed, len(zone))}
	for key, r := range zone {
		p := parsed{Reply: r}
		for _, text := range r.Answer {
			rr, err := mdns.NewRR(text)
			if err != nil || rr == nil {
				t.Fatalf("dnstest: bad record %q: %v", text, err)
			}
			p.rrs = append(p.rrs, rr)
		}
		name, typ, _ := strings.Cut(key, " ")
		s.zone[strings.ToLower(name)+" "+strings.ToUpper(typ)] = p
	}
	pc, l := listenPair(t)
	s.addr = pc.LocalAddr().String()
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return s
}

// listenPair opens a UDP socket and a TCP listener on the same loopback port.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatalf("dnstest: no free port for both udp and tcp")
	return nil, nil
}

// Addr returns the "127.0.0.1:port" the server listens on, over UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// Queries returns a copy of the questions received so far, in arrival order.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// ServeDNS answers one query from the zone. It is called by the miekg server.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	rec := Query{
		Key: strings.ToLower(q.Name) + " " + mdns.TypeToString[q.Qtype],
		Net: w.RemoteAddr().Network(),
		RD:  req.RecursionDesired,
		AD:  req.AuthenticatedData,
	}
	if opt := req.IsEdns0(); opt != nil {
		rec.DO, rec.UDPSize = opt.Do(), opt.UDPSize()
	}
	s.mu.Lock()
	s.queries = append(s.queries, rec)
	s.mu.Unlock()

	p, ok := s.zone[rec.Key]
	if p.Drop {
		return
	}
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	switch {
	case !ok:
		resp.Rcode = mdns.RcodeRefused
	case p.Truncate && rec.Net == "udp":
		resp.Truncated = true
		resp.AuthenticatedData = p.AD
	default:
		resp.Rcode = p.Rcode
		resp.AuthenticatedData = p.AD
		resp.Answer = p.rrs
		if rec.Net == "udp" {
			resp.Truncate(max(int(rec.UDPSize), mdns.MinMsgSize)) // sets TC when records had to go
		}
	}
	_ = w.WriteMsg(resp)
}
