package downgrade_test

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mxout/mxout/internal/downgrade"
	"github.com/mxout/mxout/internal/message"
)

func ExampleDowngrade() {
	msg := "From: ann@example.org\n" +
		"Subject: lunch at the caf\xc3\xa9\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Content-Transfer-Encoding: 8bit\n" +
		"\n" +
		"See you at the caf\xc3\xa9 at noon.\n"
	res, err := downgrade.Downgrade(os.Stdout, strings.NewReader(msg), downgrade.Options{})
	fmt.Printf("%+v %v\n", res, err)
	// Output:
	// From: ann@example.org
	// Subject: lunch at the =?utf-8?q?caf=C3=A9?=
	// MIME-Version: 1.0
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: quoted-printable
	//
	// See you at the caf=C3=A9 at noon.
	// {QuotedPrintable:1 Base64:0 Headers:1 Relabeled:0 Replaced:0} <nil>
}

// A structured field with 8-bit text cannot go to a server without SMTPUTF8: the error
// carries the enhanced status code for the delivery report.
func ExampleError() {
	msg := "From: J\xc3\xb6rg <joerg@example.org>\n\nhi\n"
	_, err := downgrade.Downgrade(nil, strings.NewReader(msg), downgrade.Options{})
	var e *downgrade.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code(), errors.Is(err, downgrade.ErrHeader8Bit), e)
	}
	// Output:
	// 5.6.9 true downgrade: message field from: 8-bit header field needs SMTPUTF8 (#5.6.9)
}

// Before the transaction: a dry run into a message.Scan tells whether the message can go at
// all, and its size on the wire once downgraded, for SIZE. The message is read again for DATA.
func ExampleDowngrade_dryRun() {
	m, err := message.Read(strings.NewReader("Subject: hi\n\nna\xc3\xafve\n"), "")
	if err != nil {
		panic(err)
	}
	defer m.Close()
	var after message.Scan
	if _, err := downgrade.Downgrade(&after, m.Open(), downgrade.Options{}); err != nil {
		fmt.Println("permanent failure:", err)
		return
	}
	fmt.Println(m.EightBit, m.WireSize(), "->", after.EightBit, after.WireSize())
	// Output:
	// true 23 -> false 131
}
