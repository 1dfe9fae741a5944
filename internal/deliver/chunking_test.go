package deliver

import (
	"testing"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/smtptest"
)

const greetChunking = `
< 220 mx
> EHLO helo.test
< 250-mx
< 250-PIPELINING
< 250-DSN
< 250 CHUNKING`

// bdatTx is one pipelined transaction sent with BDAT, with the job's DSN parameters.
func bdatTx(rcpt, final string) string {
	return `
> MAIL FROM:<s@example.org> RET=HDRS ENVID=q+2B1
> RCPT TO:<` + rcpt + `> NOTIFY=FAILURE ORCPT=rfc822;orig+2B` + rcpt + `
< 250 ok
< 250 ok
> BDAT 21 LAST
! read 21
< ` + final
}

// TestPoolChunkingAndDSN: with Config.Chunking the texts go by BDAT over a kept session, one
// transaction after the other (a BDAT transaction is not handed to the next job behind its
// LAST), with each job's DSN parameters; a recipient that cannot be sent keeps its own outcome
// and its ORCPT does not shift onto the next recipient.
func TestPoolChunkingAndDSN(t *testing.T) {
	srv := smtptest.Start(t, greetChunking+bdatTx("a@example.test", "250 one")+bdatTx("b@example.test", "250 two")+"\n> QUIT")
	p, _ := newPool(t, srv)
	p.e.Chunking = true
	for _, r := range []string{"a@example.test", "b@example.test"} {
		job := poolJob(t, "no-domain", r)
		job.DSN = smtp.DSN{Ret: "HDRS", EnvID: "q+1", Notify: "failure", ORcpt: []string{"rfc822;x@y", "rfc822;orig+" + r}}
		res := p.Deliver(t.Context(), job)
		status(t, res, outcome.Failed, outcome.Delivered)
	}
	p.Close()
}

// TestDataWithoutChunkingConfig: without Config.Chunking (qmail-remote) a server offering
// CHUNKING still gets DATA.
func TestDataWithoutChunkingConfig(t *testing.T) {
	srv := smtptest.Start(t, greetChunking+tx("a@example.test", "250 ok")+"\n> QUIT")
	p, _ := newPool(t, srv)
	status(t, p.Deliver(t.Context(), poolJob(t, "a@example.test")), outcome.Delivered)
	p.Close()
}
