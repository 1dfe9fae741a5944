package qmailctl

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// newHome makes a qmail home with the given control files (name -> content)
// and returns its path.
func newHome(t *testing.T, files map[string]string) string {
	t.Helper()
	home := t.TempDir()
	ctl := filepath.Join(home, "control")
	if err := os.Mkdir(ctl, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ctl, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(newHome(t, map[string]string{"me": "mx.example.test\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Me != "mx.example.test" || c.HeloHost != "mx.example.test" {
		t.Errorf("Me=%q HeloHost=%q", c.Me, c.HeloHost)
	}
	if c.TimeoutConnect != 60*time.Second || c.TimeoutRemote != 1200*time.Second {
		t.Errorf("timeouts %v %v", c.TimeoutConnect, c.TimeoutRemote)
	}
	if c.SMTPRoutes == nil || c.Routing == nil || c.TLSDestinations == nil || c.DomainCerts == nil {
		t.Fatalf("nil table: %+v", c)
	}
	if _, ok := c.SMTPRoutes.Lookup("x.test"); ok {
		t.Error("route found in empty table")
	}
	if c.TLSDestinations.Lookup("x.test", "") != nil {
		t.Error("tls rule found in empty table")
	}
	if c.MoreIPMe != nil || c.NotIPMe != nil {
		t.Errorf("ipme lists %v %v", c.MoreIPMe, c.NotIPMe)
	}
}

func TestLoadNames(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		me, helo string
		wantErr  bool
	}{
		{"me only", map[string]string{"me": "me.test\n"}, "me.test", "me.test", false},
		{"both", map[string]string{"me": "me.test\n", "helohost": "helo.test \t\n"}, "me.test", "helo.test", false},
		{"helohost without me", map[string]string{"helohost": "helo.test\n"}, "", "helo.test", false},
		{"empty helohost", map[string]string{"me": "me.test\n", "helohost": ""}, "me.test", "", false},
		{"empty me", map[string]string{"me": ""}, "", "", false},
		{"first line only", map[string]string{"me": "a.test\nb.test\n"}, "a.test", "a.test", false},
		{"cr kept", map[string]string{"me": "a.test\r\n"}, "a.test\r", "a.test\r", false},
		{"both absent", map[string]string{}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(newHome(t, tt.files))
			if tt.wantErr {
				var fe *FileError
				if !errors.As(err, &fe) || fe.File != "helohost" || !errors.Is(err, ErrControl) {
					t.Fatalf("err = %v, want FileError{helohost} wrapping ErrControl", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Me != tt.me || c.HeloHost != tt.helo {
				t.Errorf("Me=%q HeloHost=%q, want %q %q", c.Me, c.HeloHost, tt.me, tt.helo)
			}
		})
	}
}

func TestLoadHome(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, home := range []string{"", filepath.Join(dir, "missing"), file} {
		if _, err := Load(home); !errors.Is(err, ErrHome) || errors.Is(err, ErrControl) {
			t.Errorf("Load(%q) err = %v, want ErrHome", home, err)
		}
	}
	// A home without a control directory is a home: the control files are
	// then absent, so me and helohost are missing.
	if _, err := Load(dir); !errors.Is(err, ErrControl) {
		t.Errorf("Load(no control dir) err = %v, want ErrControl", err)
	}
}

func TestLoadUnreadable(t *testing.T) {
	for _, name := range []string{"me", "helohost", "timeoutremote", "timeoutconnect", "smtproutes",
		"moreipme", "notipme", "tlsdestinations", "domaincerts"} {
		t.Run(name, func(t *testing.T) {
			home := newHome(t, map[string]string{"me": "me.test\n"})
			p := filepath.Join(home, "control", name)
			os.Remove(p)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Load(home)
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != name || !errors.Is(err, ErrControl) {
				t.Fatalf("err = %v, want FileError{%s} wrapping ErrControl", err, name)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		content string // "-" = absent
		want    time.Duration
	}{
		{"-", 1200 * time.Second},
		{"30\n", 30 * time.Second},
		{"2abc\n", 2 * time.Second},
		{"0\n", 0},
		{"junk\n", 1200 * time.Second},
		{" 30\n", 1200 * time.Second},
		{"\n", 1200 * time.Second},
		{"", 1200 * time.Second},
		{"-5\n", 1200 * time.Second},
		{"007\n", 7 * time.Second},
		{"45\n99\n", 45 * time.Second},
		{"99999999999999999999999999\n", maxTimeoutSeconds * time.Second},
		{"2147483647\n", maxTimeoutSeconds * time.Second},
		{"2147483648\n", maxTimeoutSeconds * time.Second},
	}
	for _, tt := range tests {
		files := map[string]string{"me": "me.test\n"}
		if tt.content != "-" {
			files["timeoutremote"] = tt.content
			files["timeoutconnect"] = tt.content
		}
		c, err := Load(newHome(t, files))
		if err != nil {
			t.Fatal(err)
		}
		wantConnect := tt.want
		if wantConnect == 1200*time.Second {
			wantConnect = 60 * time.Second
		}
		if c.TimeoutRemote != tt.want || c.TimeoutConnect != wantConnect {
			t.Errorf("%q: remote %v connect %v, want %v %v", tt.content, c.TimeoutRemote, c.TimeoutConnect, tt.want, wantConnect)
		}
	}
}

func TestIPMe(t *testing.T) {
	pfx := netip.MustParsePrefix
	c, err := Load(newHome(t, map[string]string{
		"me":       "me.test\n",
		"moreipme": "127.0.0.1\n::1\n# comment\n\n127.0.0.0/8\n  10.1.2.3/8 \n2001:db8::/32",
		"notipme":  "127.0.0.2\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{pfx("127.0.0.1/32"), pfx("::1/128"), pfx("127.0.0.0/8"), pfx("10.0.0.0/8"), pfx("2001:db8::/32")}
	if !reflect.DeepEqual(c.MoreIPMe, want) {
		t.Errorf("MoreIPMe = %v, want %v", c.MoreIPMe, want)
	}
	if !reflect.DeepEqual(c.NotIPMe, []netip.Prefix{pfx("127.0.0.2/32")}) {
		t.Errorf("NotIPMe = %v", c.NotIPMe)
	}
}

func TestIPMeBadLine(t *testing.T) {
	for _, bad := range []string{"localhost", "127.0.0.1/33", "1.2.3", "fe80::1%eth0", "127.0.0.1 # note"} {
		for _, file := range []string{"moreipme", "notipme"} {
			_, err := Load(newHome(t, map[string]string{"me": "me.test\n", file: "127.0.0.1\n" + bad + "\n"}))
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != file || fe.Line != 2 || fe.Reason == "" || !errors.Is(err, ErrControl) {
				t.Errorf("%s %q: err = %v, want FileError at line 2", file, bad, err)
			}
		}
	}
}

func TestLoadTables(t *testing.T) {
	c, err := Load(newHome(t, map[string]string{
		"me":              "me.test\n",
		"smtproutes":      "example.test:127.0.0.1:2525\n",
		"tlsdestinations": "=mx.example.test:\n",
		"domaincerts":     "*:/cert.pem\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.SMTPRoutes.Lookup("example.test"); !ok || r.Port != 2525 {
		t.Errorf("route %+v %v", r, ok)
	}
	if r := c.TLSDestinations.Lookup("mx.example.test", ""); r == nil || r.Kind != RuleNameExact {
		t.Errorf("tls rule %+v", r)
	}
	if dc, ok := c.DomainCerts.Lookup("a.test"); !ok || dc.CertFile != "/cert.pem" {
		t.Errorf("domaincert %+v %v", dc, ok)
	}
	for file, content := range map[string]string{"tlsdestinations": "nocolon\n", "domaincerts": ":|key\n"} {
		_, err := Load(newHome(t, map[string]string{"me": "me.test\n", file: content}))
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != file || fe.Line != 1 {
			t.Errorf("%s: err = %v, want FileError at line 1", file, err)
		}
	}
}

// TestLoadDir: mxout's -C DIR reads DIR itself and needs neither me nor helohost.
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "smtproutes"), []byte("example.test:[192.0.2.1]:2525\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.SMTPRoutes.Lookup("example.test"); !ok || r.Port != 2525 || c.HeloHost != "" {
		t.Errorf("route %+v %v, helohost %q", r, ok, c.HeloHost)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); !errors.Is(err, ErrHome) {
		t.Errorf("missing dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "smtproutes"), []byte("x.test:relay.test;99999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); !errors.Is(err, ErrControl) {
		t.Errorf("bad smtproutes: %v", err)
	}
}
