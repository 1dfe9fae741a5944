package dane

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"
)

// handshake runs a real crypto/tls handshake over net.Pipe between a server
// sending chain and a client using the VerifyConnection hook, and returns the
// client's and the server's handshake errors.
func handshake(t *testing.T, fx *fixture, version uint16, chain []*x509.Certificate, hook func(tls.ConnectionState) error) (clientErr, serverErr error) {
	t.Helper()
	cert := tls.Certificate{PrivateKey: fx.leafKey}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	cc, sc := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	if err := cc.SetDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	if err := sc.SetDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	server := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	client := tls.Client(cc, &tls.Config{
		ServerName:         "mx1.example.test",
		InsecureSkipVerify: true, // DANE replaces PKIX; the hook verifies
		VerifyConnection:   hook,
		MinVersion:         version,
		MaxVersion:         version,
	})
	done := make(chan error, 1)
	go func() {
		err := server.Handshake()
		sc.Close()
		done <- err
	}()
	clientErr = client.Handshake()
	cc.Close()
	return clientErr, <-done
}

func TestVerifyConnectionHandshake(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	now := func() time.Time { return fx.now }
	full := []*x509.Certificate{fx.leaf, fx.inter, fx.ca}
	cases := []struct {
		name   string
		rrs    []Record
		want   Method
		depth  int
		reject error // sentinel the client's error must wrap; nil with want None means any error
	}{
		{name: "DANE-EE", rrs: []Record{rec(3, 1, 1, fx.leaf)}, want: EE},
		{name: "DANE-TA", rrs: []Record{rec(3, 1, 1, fx.other), rec(2, 0, 1, fx.ca)}, want: TA, depth: 2},
		{name: "mismatch", rrs: []Record{rec(3, 1, 1, fx.other), rec(2, 1, 1, fx.foreignCA)}, reject: ErrNoMatch},
		{name: "no usable records", rrs: []Record{rec(1, 1, 1, fx.leaf)}, reject: ErrNoRecords},
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range cases {
			t.Run(tls.VersionName(version)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				res := Result{Method: Method(99), Depth: 99}
				cerr, serr := handshake(t, fx, version, full, VerifyConnection(tc.rrs, mx1, now, &res))
				if tc.want == None {
					if cerr == nil || !errors.Is(cerr, tc.reject) {
						t.Fatalf("client handshake: got %v; want an error wrapping %v", cerr, tc.reject)
					}
					if serr == nil {
						t.Error("server handshake succeeded; want it to see the client's refusal")
					}
					if res.Method != None || res.Depth != 0 {
						t.Errorf("result after refusal: %+v; want the zero Result", res)
					}
					return
				}
				if cerr != nil || serr != nil {
					t.Fatalf("handshake: client %v, server %v; want success", cerr, serr)
				}
				if res.Method != tc.want || res.Depth != tc.depth {
					t.Errorf("result %v depth %d; want %v depth %d", res.Method, res.Depth, tc.want, tc.depth)
				}
			})
		}
	}
}

// TestVerifyConnectionClock checks that the hook asks the clock given, and
// that it copies its inputs.
func TestVerifyConnectionClock(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	rrs := []Record{rec(2, 0, 1, fx.ca)}
	names := []string{"mx1.example.test"}
	late := func() time.Time { return fx.now.Add(400 * 24 * time.Hour) }
	hook := VerifyConnection(rrs, names, late, nil)
	rrs[0] = rec(3, 1, 1, fx.leaf) // must not reach the hook
	names[0] = "other.example.test"
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{fx.leaf, fx.inter, fx.ca}}
	if err := hook(cs); !isExpired(err) {
		t.Errorf("hook with a clock past expiry: got %v; want an expiry error", err)
	}
	ok := VerifyConnection([]Record{rec(2, 0, 1, fx.ca)}, []string{"mx1.example.test"}, func() time.Time { return fx.now }, nil)
	if err := ok(cs); err != nil {
		t.Errorf("hook with nil res: got %v; want success", err)
	}
}
