package smtptest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/mxout/mxout/internal/smtptest"
)

// exampleT stands in for the *testing.T a real test passes to Start: an
// Example function gets none. It prints what a test would report.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()          {}
func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, args ...any) {
	fmt.Printf("test failure: "+format+"\n", args...)
}
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// endTest runs the cleanups, as the end of a test would.
func (t *exampleT) endTest() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A server that rejects a recipient. In a test, pass the *testing.T; the
// client here is a bare net.Conn where a real test would run mxout's client.
func ExampleStart() {
	t := &exampleT{}
	srv := smtptest.Start(t, `
< 220 mx.example.test ESMTP
> EHLO client.example.test
< 250-mx.example.test
< 250 ENHANCEDSTATUSCODES
> MAIL FROM:<a@example.org>
< 250 2.1.0 ok
>~ RCPT TO:<[^@]+@example\.test>
< 550 5.1.1 no such user
! eof-or-quit
`)

	conn, _ := net.Dial("tcp", srv.Addr())
	r := bufio.NewReader(conn)
	say := func(cmd string) {
		if cmd != "" {
			fmt.Fprintf(conn, "%s\r\n", cmd)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Print(line[:len(line)-2], "\n")
			if len(line) < 4 || line[3] != '-' {
				return
			}
		}
	}
	say("")
	say("EHLO client.example.test")
	say("MAIL FROM:<a@example.org>")
	say("RCPT TO:<nobody@example.test>")
	say("QUIT")
	conn.Close()

	fmt.Println("script:", srv.Wait(context.Background()))
	t.endTest()
	// Output:
	// 220 mx.example.test ESMTP
	// 250-mx.example.test
	// 250 ENHANCEDSTATUSCODES
	// 250 2.1.0 ok
	// 550 5.1.1 no such user
	// 221 2.0.0 smtptest closing
	// script: <nil>
}

// A mismatch names the script line and what arrived: here the client sends
// HELO where the script expects EHLO.
func ExampleStart_mismatch() {
	t := &exampleT{}
	srv := smtptest.Start(t, "< 220 mx.example.test\n> EHLO client.example.test\n< 250 ok")
	conn, _ := net.Dial("tcp", srv.Addr())
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	fmt.Fprint(conn, "HELO client.example.test\r\n")
	_, err := r.ReadString('\n') // the server gives up and closes
	fmt.Println("client read:", err)
	conn.Close()
	t.endTest()
	// Output:
	// client read: EOF
	// test failure: smtptest: connection 1: script line 2 (> EHLO client.example.test): got "HELO client.example.test"
}
