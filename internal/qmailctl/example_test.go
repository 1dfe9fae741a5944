package qmailctl_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mxout/mxout/internal/qmailctl"
)

func ExampleLoad() {
	home, err := os.MkdirTemp("", "qmailctl-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)
	files := map[string]string{
		"me":              "mx.example.test\n",
		"smtproutes":      ".example.test:\nexample.test:[IPv6:::1]:2525\n:relay.example.test\n",
		"tlsdestinations": "=relay.example.test:/etc/ssl/ca.pem||3\n",
	}
	os.Mkdir(filepath.Join(home, "control"), 0o755)
	for name, content := range files {
		os.WriteFile(filepath.Join(home, "control", name), []byte(content), 0o644)
	}
	cfg, err := qmailctl.Load(home)
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
