package qmailctl_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mxout/mxout/internal/qmailctl"
)

func ExampleLoad() {
	files := map[string]string{
		"me":              "mx.example.test\n",
		"smtproutes":      ".example.test:\nexample.test:[IPv6:::1]:2525\n:relay.example.test\n",
		"tlsdestinations": "=relay.example.test:/etc/ssl/ca.pem||3\n",
	}
	cfg, err := loadExample(files)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, host := range []string{"example.test", "a.example.test", "other.test"} {
		r, _ := cfg.SMTPRoutes.Lookup(host)
		fmt.Printf("%s: mx=%v relay=%q addr=%v port=%d\n", host, r.MX(), r.Relay, r.Addr, r.Port)
	}
	rule := cfg.TLSDestinations.Lookup("relay.example.test", "sender.test")
	fmt.Println(cfg.HeloHost, cfg.TimeoutRemote, rule.Kind, rule.CAFile, rule.VerifyDepth)
	// Output:
	// example.test: mx=false relay="::1" addr=::1 port=2525
	// a.example.test: mx=true relay="" addr=invalid IP port=25
	// other.test: mx=false relay="relay.example.test" addr=invalid IP port=25
	// mx.example.test 20m0s name-exact /etc/ssl/ca.pem 3
}

func ExampleRouting_Lookup() {
	files := map[string]string{
		"me":          "mx.example.test\n",
		"authsenders": "@example.test:submit.example.test;s587|alice|s3cret\n",
		"qmtproutes":  "partner.test:qmtp.partner.test\n",
		"smtproutes":  "!@:bounces.example.test;2525\n:smarthost.example.test\n",
		"domainips":   "*:192.0.2.10|out.example.test\n",
	}
	cfg, err := loadExample(files)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range []struct{ sender, host string }{
		{"alice@example.test", "anywhere.test"},
		{"bob@other.test", "partner.test"},
		{"", "partner.test"},
		{"bob@other.test", "anywhere.test"},
	} {
		r, err := cfg.Routing.Lookup(m.sender, m.host)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s via %s:%d %v tls=%v user=%q password=%v, bind %v helo %s\n",
			r.Table, r.Relay, r.Port, r.Protocol, r.ImplicitTLS, r.User, r.Password, r.LocalIP, r.HeloHost)
	}
	// Output:
	// authsenders via submit.example.test:587 smtp tls=true user="alice" password=[redacted], bind 192.0.2.10 helo out.example.test
	// qmtproutes via qmtp.partner.test:209 qmtp tls=false user="" password=, bind 192.0.2.10 helo out.example.test
	// smtproutes via bounces.example.test:2525 smtp tls=false user="" password=, bind 192.0.2.10 helo out.example.test
	// smtproutes via smarthost.example.test:25 smtp tls=false user="" password=, bind 192.0.2.10 helo out.example.test
}

// loadExample writes files (name -> content) into a temporary control
// directory, loads it and removes it again.
func loadExample(files map[string]string) (*qmailctl.Config, error) {
	home, err := os.MkdirTemp("", "qmailctl-example")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	if err := os.Mkdir(filepath.Join(home, "control"), 0o755); err != nil {
		return nil, err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(home, "control", name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return qmailctl.Load(home)
}
