package deliver

import (
	"context"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
)

// finishLMTP sends the queued final dot of an LMTP transaction and gives every recipient accepted
// at RCPT the Outcome of its own reply (RFC 2033 §4.2): the replies come one per accepted
// recipient, in RCPT order. When the connection is lost before some of them came, those
// recipients get the failure (after the dot: possibly delivered), and the ones answered keep
// their reply. The message's Outcome is the first accepted recipient's, as for SMTP the
// transaction's. idx maps the envelope's recipients to the job's.
func (s *Session) finishLMTP(ctx context.Context, res *Result, idx []int, sent *smtp.Sent) {
	replies, err := s.c.DotReplies(ctx, sent.Accepted)
	first, j := true, 0
	for k, rr := range sent.Rcpt {
		if !smtp.RcptAccepted(rr) {
			continue
		}
		var o outcome.Outcome
		if j < len(replies) {
			r := replies[j]
			var cause error
			if !r.Positive() {
				cause = &smtp.Error{Phase: smtp.PhaseDot, Peer: s.Peer, Reply: &r, Err: smtp.ErrReply}
			}
			o = outcome.FromReply(smtp.PhaseDot, r, cause)
		} else {
			o = classify(err)
		}
		j++
		s.facts(&o)
		if first {
			res.Message, first = o, false
		}
		i := idx[k]
		o.RcptReply = res.Recipients[i].RcptReply
		res.Recipients[i] = o
	}
}
