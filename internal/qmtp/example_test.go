package qmtp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/qmtp/qmtptest"
)

// ExampleClient_Send delivers one message to two recipients and reads one response for each.
func ExampleClient_Send() {
	// A server that accepts the first recipient and refuses the second.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if p, err := qmtptest.ReadPackage(bufio.NewReader(c)); err == nil && len(p.Recipients) == 2 {
			io.WriteString(c, qmtptest.K("ok 1234")+qmtptest.D("no such user (#5.1.1)"))
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	peer := ln.Addr().(*net.TCPAddr).AddrPort()
	c := qmtp.NewClient(conn, qmtp.Options{Peer: peer, Timeout: 10 * time.Second})
	defer c.Close()

	msg := text("Subject: hello\r\n\r\nHi.\r\n") // goes out as "Subject: hello\n\nHi.\n"
	rs, err := c.Send(context.Background(), msg, "sender@example.org", []string{"a@example.test", "b@example.test"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range rs {
		fmt.Printf("recipient %d: %c %s\n", i+1, r.Status, r.Text)
	}
	// Output:
	// recipient 1: K ok 1234
	// recipient 2: D no such user (#5.1.1)
}
