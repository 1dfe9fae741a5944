package qmailspawn_test

import (
	"fmt"

	"github.com/mxout/mxout/internal/qmailspawn"
)

func ExampleConvert() {
	out := "h192.0.2.1 does not like recipient.\nRemote host said: 550 no\n\x00DGiving up on 192.0.2.1.\n\x00"
	fmt.Printf("%q\n", qmailspawn.Convert([]byte(out)))
	// Output: "D192.0.2.1 does not like recipient.\nRemote host said: 550 no\nGiving up on 192.0.2.1.\n"
}
