package downgrade

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mxout/mxout/internal/downgrade/mimetest"
)

// check7 reports an 8-bit byte, or when lines is set, a line over 998 bytes.
func check7(out []byte, lines bool) error {
	for i, c := range out {
		if c >= 0x80 {
			return fmt.Errorf("8-bit byte in output at %d", i)
		}
	}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if !lines {
			break
		}
		if len(bytes.TrimSuffix(line, []byte("\r"))) > maxLine {
			return fmt.Errorf("output line %d has %d bytes", i+1, len(line))
		}
	}
	return nil
}

// roundTrip downgrades msg and checks what every downgrade promises (check), failing the test.
func roundTrip(t *testing.T, msg []byte, opts Options) ([]byte, Result) {
	t.Helper()
	out, res, err := check(msg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out, res
}

// check downgrades msg and checks what every downgrade promises: 7-bit output with short lines
// (when every part fits in the look-ahead: a long line found later in a part sent as 7-bit goes
// out as it is), the same tree with the same decoded bodies and fields, and no change when
// Result says none.
func check(msg []byte, opts Options) ([]byte, Result, error) {
	var b bytes.Buffer
	res, err := Downgrade(&b, bytes.NewReader(msg), opts)
	if err != nil {
		return nil, res, fmt.Errorf("downgrade: %v\ninput:\n%s", err, msg)
	}
	out := b.Bytes()
	if err := check7(out, opts.LookAhead == 0); err != nil {
		return nil, res, fmt.Errorf("%v\ninput:\n%s\noutput:\n%s", err, msg, out)
	}
	if !res.Changed() && !bytes.Equal(out, msg) {
		return nil, res, fmt.Errorf("output differs, result says unchanged\nin:\n%q\nout:\n%q", msg, out)
	}
	in, err := mimetest.ReadTree(msg)
	if err != nil {
		return nil, res, fmt.Errorf("go-message, input: %v\n%s", err, msg)
	}
	got, err := mimetest.ReadTree(out)
	if err != nil {
		return nil, res, fmt.Errorf("go-message, output: %v\n%s", err, out)
	}
	if err := mimetest.Same(in, got, "message"); err != nil {
		return nil, res, fmt.Errorf("%v\ninput:\n%s\noutput:\n%s", err, msg, out)
	}
	return out, res, nil
}
