package mtasts_test

import (
	"fmt"

	"github.com/mxout/mxout/internal/mtasts"
)

// A policy says which MX hosts may receive mail and what TLS they need; Effect turns that
// into data for the TLS policy of one hop.
func ExamplePolicy_Effect() {
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: *.mail.example.test\nmax_age: 604800\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, host := range []string{"mx1.mail.example.test", "mx.attacker.test"} {
		e := p.Effect(host)
		fmt.Printf("%s: match=%v skip=%v tls=%v\n", host, e.MXMatch, e.Skip, e.RequireTLS)
	}
	// Output:
	// mx1.mail.example.test: match=true skip=false tls=true
	// mx.attacker.test: match=false skip=true tls=false
}
