package cli

import (
	"fmt"
	"github.com/mxout/mxout/internal/route"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthFile(t *testing.T) {
	a, err := parseAuthFile("f", []byte("# comment\n\nrelay.test  u1 pass with blanks \n[192.0.2.1]\tu2\tp2\n.example.test u3 p3\n* u4 p4\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ relay, host, user, pass string }{
		{"relay.test", "x.test", "u1", "pass with blanks"},
		{"RELAY.test", "x.test", "u1", "pass with blanks"},
		{"192.0.2.1", "x.test", "u2", "p2"},
		{"[192.0.2.1]", "x.test", "u2", "p2"},
		{"", "mail.example.test", "u3", "p3"},
		{"", "example.test", "u4", "p4"},
		{"other.test", "nowhere.test", "u4", "p4"},
	} {
		e, ok := a.lookup(tt.relay, tt.host)
		if !ok || e.user != tt.user || e.password.Reveal() != tt.pass {
			t.Errorf("lookup(%q, %q) = %q %v", tt.relay, tt.host, e.user, ok)
		}
	}
	for _, bad := range []string{"relay.test u1\n", "relay.test\n", "k u secret-value-1\nbroken-line\n"} {
		_, err := parseAuthFile("f", []byte(bad))
		if err == nil || strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "broken-line") {
			t.Errorf("%q: %v (want an error that quotes nothing)", bad, err)
		}
	}
}

func TestAuthFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(path, []byte("r u p\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAuthFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable file: %v", err)
	}
	os.Chmod(path, 0o600)
	if _, err := ReadAuthFile(path); err != nil {
		t.Error(err)
	}
	if _, err := ReadAuthFile(filepath.Dir(path)); err == nil {
		t.Error("a directory was accepted")
	}
}

// TestWithAuth: credentials of the file fill routes that have none, never replace a route's
// own, and print as [redacted].
func TestWithAuth(t *testing.T) {
	a, _ := parseAuthFile("f", []byte("relay.test fu fp-secret\n"))
	r, err := forcedRoute("relay.test:2525", 25)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := withAuth{inner: r, file: a}.Lookup("s@x.test", "dest.test")
	if err != nil || rt.User != "fu" || rt.Password.Reveal() != "fp-secret" || rt.Port != 2525 {
		t.Fatalf("%+v %v", rt, err)
	}
	if s := fmt.Sprintf("%+v %#v", rt, rt); strings.Contains(s, "fp-secret") {
		t.Errorf("printed: %s", s)
	}
	own := forced{r: route.Static{Relay: "relay.test", Port: 25, User: "own"}}
	if rt, _ := (withAuth{inner: own, file: a}).Lookup("", "d.test"); rt.User != "own" {
		t.Errorf("the route's own user was replaced: %q", rt.User)
	}
}

func FuzzAuthFile(f *testing.F) {
	f.Add([]byte("relay.test u p\n# c\n[::1]\tu\tp w\n"))
	f.Add([]byte("* u\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAuthFile("f", data)
		if err != nil {
			return
		}
		for k, e := range a.m {
			if e.user == "" || e.password.IsZero() || k == "" {
				t.Fatalf("entry %q: %q with an empty part", k, e.user)
			}
		}
	})
}
