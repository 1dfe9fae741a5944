package state

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mxout/mxout/internal/dns"
)

func TestUsable(t *testing.T) {
	dir := t.TempDir()
	if !Usable(dir) {
		t.Errorf("%s not usable", dir)
	}
	if Usable(filepath.Join(dir, "missing")) || Usable("") {
		t.Error("a missing directory is usable")
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 && Usable(ro) { // root may write anywhere
		t.Error("a read-only directory is usable")
	}
	if got := MTASTS(dir, nil).Cache.Dir; got != filepath.Join(dir, "mta-sts") {
		t.Errorf("cache in %s", got)
	}
	if got := TLSRPT(dir).Dir; got != filepath.Join(dir, "tlsrpt") {
		t.Errorf("store in %s", got)
	}
}

type fakeIP map[string][]netip.Addr

func (f fakeIP) LookupIP(_ context.Context, name string) ([]netip.Addr, dns.Result, error) {
	a, ok := f[name]
	if !ok {
		return nil, dns.Result{}, dns.ErrNotFound
	}
	return a, dns.Result{}, nil
}

func (f fakeIP) LookupTXT(context.Context, string) ([]string, dns.Result, error) {
	return nil, dns.Result{}, dns.ErrNotFound
}

// TestDialVia: the name is resolved through the given resolver, never the system's.
func TestDialVia(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	dial := DialVia(fakeIP{"mta-sts.example.test": {netip.MustParseAddr("127.0.0.1")}})
	c, err := dial(t.Context(), "tcp", net.JoinHostPort("mta-sts.example.test", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := dial(t.Context(), "tcp", "nowhere.test:443"); err == nil {
		t.Error("dialled a name the resolver does not know")
	}
}
