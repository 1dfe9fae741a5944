package dane_test

import (
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
