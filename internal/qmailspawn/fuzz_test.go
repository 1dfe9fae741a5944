package qmailspawn

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes from qmail-send: the reader must never keep more than its
// bounds, a request it read in full must come back the same when written again, and the checks
// must give a report or pass without panicking.
func FuzzReader(f *testing.F) {
	f.Add(Append(nil, 0, "12/345", "s@example.org", "a@example.test"))
	f.Add(Append(Append(nil, 1, "1/2", "", "b@x"), 254, "../etc", "s", "nohost"))
	f.Add([]byte("\x00\x00\x00"))
	f.Add([]byte("\xff1/1\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small bounds, so that short inputs reach the skipping paths: minimizing inputs of
		// several KiB would take the fuzzer longer than the smoke run lasts.
		r := NewReader(bytes.NewReader(data))
		r.maxMessID, r.maxAddress = 5, 8
		for {
			c, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrPartial) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(c.MessID) > r.maxMessID+1 || len(c.Sender) > r.maxAddress || len(c.Recipient) > r.maxAddress {
				t.Fatalf("fields past their bounds: %d %d %d", len(c.MessID), len(c.Sender), len(c.Recipient))
			}
			rep := Check(c, 255, func(d byte) bool { return d%2 == 1 })
			if rep != "" && (rep[len(rep)-1] != '\n' || bytes.IndexByte([]byte("ZD"), rep[0]) < 0) {
				t.Fatalf("malformed refusal %q", rep)
			}
			if c.messIDBad || c.senderLong || c.recipientLong || len(c.MessID) > r.maxMessID {
				continue
			}
			rr := NewReader(bytes.NewReader(Append(nil, c.Delnum, c.MessID, c.Sender, c.Recipient)))
			rr.maxMessID, rr.maxAddress = r.maxMessID, r.maxAddress
			again, err := rr.Next()
			if err != nil || *again != *c {
				t.Fatalf("round trip: %+v became %+v, %v", *c, again, err)
			}
		}
	})
}

// FuzzConvert checks that any qmail-remote output gives a report qmail-send can take: a letter
// K, Z or D, no NUL, and no longer than the output itself plus one letter.
func FuzzConvert(f *testing.F) {
	f.Add([]byte("r\x00K1.2.3.4 accepted message.\n\x00"))
	f.Add([]byte("h1.2.3.4 does not like recipient.\n\x00DGiving up on 1.2.3.4.\n\x00"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, out []byte) {
		rep := Convert(out)
		if len(rep) == 0 || bytes.IndexByte([]byte("KZD"), rep[0]) < 0 {
			t.Fatalf("report %q has no K/Z/D letter", rep)
		}
		if bytes.IndexByte(rep, 0) >= 0 {
			t.Fatalf("report %q holds a NUL", rep)
		}
		if len(out) > 0 && len(rep) > len(out)+1 {
			t.Fatalf("report of %d bytes from %d bytes", len(rep), len(out))
		}
	})
}
