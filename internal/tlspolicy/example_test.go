package tlspolicy_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mxout/mxout/internal/dane"
	"github.com/mxout/mxout/internal/qmailctl"
	"github.com/mxout/mxout/internal/tlspolicy"
)

func ExampleDecide() {
	home, err := os.MkdirTemp("", "tlspolicy-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)
	os.Mkdir(filepath.Join(home, "control"), 0o755)
	os.WriteFile(filepath.Join(home, "control", "me"), []byte("me.example.test\n"), 0o644)
	os.WriteFile(filepath.Join(home, "control", "tlsdestinations"),
		[]byte("?:\n!plain.example.test:\n-*:\n/legacy.example.test:\n"), 0o644)
	cfg, err := qmailctl.Load(home)
	if err != nil {
		fmt.Println(err)
		return
	}
	secureTLSA := tlspolicy.TLSAState{Looked: true, Secure: true, Records: []dane.Record{{
		Usage: dane.UsageDANEEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: make([]byte, 32),
	}}}
	for _, in := range []tlspolicy.Input{
		{Destination: "plain.example.test", ServerName: "plain.example.test"},
		{Destination: "legacy.example.test", ServerName: "legacy.example.test"},
		{Destination: "example.test", ServerName: "mx.example.test"},
		{Destination: "dane.example.test", ServerName: "mx.dane.example.test", TLSA: secureTLSA},
	} {
		if !tlspolicy.NeedTLSA(cfg.TLSDestinations, in.Destination, in.SenderDomain) {
			in.TLSA = tlspolicy.TLSAState{} // the caller would not have looked
		}
		p, err := tlspolicy.Decide(cfg.TLSDestinations, cfg.DomainCerts, in)
		if err != nil {
			fmt.Println(err)
			continue
		}
		tc, _ := p.Config()
		fmt.Printf("%s: %v, require %v, rule %q, fallback %v, sni %s\n",
			in.Destination, p.Mode, p.Require, p.Rule, p.Fallback, tc.ServerName)
	}
	// Output:
	// plain.example.test: never, require none, rule "!plain.example.test", fallback false, sni plain.example.test
	// legacy.example.test: opportunistic, require none, rule "/legacy.example.test", fallback true, sni legacy.example.test
	// example.test: mandatory, require none, rule "-*", fallback false, sni mx.example.test
	// dane.example.test: mandatory, require dane-ee, rule "tlsa", fallback false, sni mx.dane.example.test
}
