package qmailspawn

import "bytes"

// The reference spawner's reports for a qmail-remote that gave no usable output.
const (
	ReportCrashed  = "Zqmail-remote crashed.\n"
	ReportNoOutput = "Zqmail-remote produced no output.\n"
)

// Outcome is how one request's delivery ended, as the reference spawner sees a qmail-remote
// process end: its output, or a crash.
type Outcome struct {
	// Output is what qmail-remote would have printed for this request's one recipient: its
	// recipient report (r, h or s, then NUL), then the message report (K, Z or D, then NUL).
	Output []byte
	// Crashed means the delivery died (a panic): the report is ReportCrashed whatever Output holds.
	Crashed bool
}

// Report is the report text qmail-send receives for o (without delnum and final NUL).
func (o Outcome) Report() []byte {
	if o.Crashed {
		return []byte(ReportCrashed)
	}
	return Convert(o.Output)
}

// Convert turns qmail-remote's output for one recipient into the spawner's report, as the
// reference's qmail-rspawn does for a qmail-remote that exited 0:
//
//   - the letter: h gives D, s gives Z, anything else takes the letter of the first NUL-ended
//     part that starts with K, Z or D (D when there is none);
//   - the text: the first part without its letter, then the message report's text when the
//     message report is not better than the recipient's own outcome (K > Z > D).
//
// So "r\0K...\0" gives "K..." and "h<ip> does not like recipient...\0DGiving up...\0" gives
// "D<ip> does not like recipient...Giving up...". Every text stops at a NUL (or at the end of out,
// where the reference reads on past its buffer), so the report never holds one; output without
// any NUL gives "D" alone, as in the reference.
func Convert(out []byte) []byte {
	if len(out) == 0 {
		return []byte(ReportNoOutput)
	}
	result := messageResult(out)
	own := result
	switch out[0] {
	case 's':
		own = 0
	case 'h':
		own = -1
	}
	rep := []byte{"DZK"[own+1]}
	end := bytes.IndexByte(out[1:], 0) // the first part's NUL, searched from index 1 as the reference does
	if end < 0 {
		return rep
	}
	rep = append(rep, out[1:1+end]...)
	next := 1 + end + 1
	if result <= own && next < len(out) && bytes.IndexByte([]byte("ZDK"), out[next]) >= 0 {
		rep = append(rep, cstring(out[next+1:])...)
	}
	return rep
}

// messageResult is the reference's reading of the message report: 1 for the first NUL-ended part
// starting with K, 0 for Z, -1 for D or when no part is one of them.
func messageResult(out []byte) int {
	j := 0
	for k, b := range out {
		if b != 0 {
			continue
		}
		switch out[j] {
		case 'K':
			return 1
		case 'Z':
			return 0
		case 'D':
			return -1
		}
		j = k + 1
	}
	return -1
}

// cstring is b up to its first NUL.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
