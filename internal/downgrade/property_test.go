package downgrade

import (
	"testing"

	"github.com/mxout/mxout/internal/downgrade/mimetest"
)

// TestPropertyRoundTrip downgrades generated messages and checks every promise: the output
// is 7-bit with lines of at most 998 bytes, go-message reads the same tree from it with the same
// fields (Content-Transfer-Encoding aside, encoded-words decoded) and the same decoded bodies,
// and a message the downgrade says it did not change is byte for byte the input.
func TestPropertyRoundTrip(t *testing.T) {
	var total Result
	unchanged := 0
	for seed := int64(1); seed <= 400; seed++ {
		opts := Options{}
		if seed%3 == 0 {
			opts.LookAhead = 16 // most parts decided before their end
		}
		// With the short look-ahead every 8-bit body is declared: an undeclared 8-bit byte
		// past it is an error (TestLate8Bit).
		msg := mimetest.NewGen(seed, []string{"\n", "\r\n"}[seed%2], seed%3 == 0).Message()
		_, res, err := check(msg, opts)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		total.QuotedPrintable += res.QuotedPrintable
		total.Base64 += res.Base64
		total.Headers += res.Headers
		total.Relabeled += res.Relabeled
		if !res.Changed() {
			unchanged++
		}
	}
	// The generator must reach every path, or the property proves little.
	if total.QuotedPrintable == 0 || total.Base64 == 0 || total.Headers == 0 || total.Relabeled == 0 || unchanged == 0 {
		t.Errorf("generator too narrow: %+v, %d unchanged", total, unchanged)
	}
	t.Logf("%+v, %d unchanged", total, unchanged)
}
