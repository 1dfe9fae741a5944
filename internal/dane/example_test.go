package dane_test

import (
	"crypto/tls"
	"fmt"

	"github.com/mxout/mxout/internal/dane"
)

func ExampleUsable() {
	rrs := []dane.Record{
		{Usage: dane.UsagePKIXEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: make([]byte, 32)},
		{Usage: dane.UsageDANEEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: make([]byte, 31)},
	}
	if len(rrs) > 0 && len(dane.Usable(rrs)) == 0 {
		// RFC 7672 §2.2: TLS is still mandatory, but the certificate is not checked.
		fmt.Println("mandatory unauthenticated TLS")
	}
	// Output: mandatory unauthenticated TLS
}

func ExampleVerifyConnection() {
	rrs := []dane.Record{{Usage: dane.UsageDANEEE, Selector: dane.SelectorSPKI, MatchingType: dane.MatchSHA256, Data: make([]byte, 32)}}
	var res dane.Result
	cfg := &tls.Config{
		ServerName:         "mx1.example.test", // SNI: the TLSA base domain
		InsecureSkipVerify: true,               // DANE replaces PKIX; the hook does the checking
		VerifyConnection:   dane.VerifyConnection(rrs, []string{"mx1.example.test", "example.test"}, nil, &res),
	}
	_ = cfg // tls.Client(conn, cfg).HandshakeContext(ctx), then report res.Method
	fmt.Println(res.Method)
	// Output: none
}
