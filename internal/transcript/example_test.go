package transcript_test

import (
	"os"

	"github.com/mxout/mxout/internal/transcript"
)

// A Writer takes the "C: " / "S: " lines internal/smtp writes to Options.Transcript. Real use
// opens the -l FILE with transcript.Open, which uses the process id.
func ExampleWriter() {
	w := transcript.New(os.Stdout, transcript.Options{PID: 12345})
	w.Write([]byte("S: 220 mx.example.test ESMTP\nC: EHLO client.example.test\n"))
	w.Write([]byte("C: AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\nS: 235 2.7.0 ok\n"))
	w.Server("354 go ahead")
	w.Message(2817)
	w.Close()
	// Output:
	// 12345 < 220 mx.example.test ESMTP
	// 12345 > EHLO client.example.test
	// 12345 > AUTH PLAIN ***
	// 12345 < 235 2.7.0 ok
	// 12345 < 354 go ahead
	// 12345 > [message: 2817 bytes]
}
