package main

import (
	"context"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/qmailspawn"
	"github.com/mxout/mxout/internal/report"
)

// batcher is the spawner's Deliverer. Every request becomes a recipient of a deliver.Job run on
// the kept sessions of a deliver.Pool. Requests for the same message file, sender and host that
// arrive close together become one job, so one transaction with several RCPTs; each request
// still ends with its own report (report.QmailOne of its recipient).
//
// qmail-send starts the recipients of one message one after another, as long as it has free
// slots, and sends a new request only when a delivery ends. So a group is sent as soon as
// waiting cannot add to it:
//   - a request for another message arrives (qmail-send has moved on from this one);
//   - the group reaches the recipient cap;
//   - every request in flight is held and qmail-send has no free slot left (in flight ≥ its
//     concurrency): no delivery can end, so no request can come;
//   - else after the window, from the group's first request.
//
// The window thus costs latency only while qmail-send has free slots and nothing to fill them
// with; it never holds a slot that a new request could need.
type batcher struct {
	engines *engines
	// deliverJob runs one job; (*deliver.Pool).Deliver but in the tests of a panic.
	deliverJob func(context.Context, *deliver.Pool, *deliver.Job) *deliver.Result

	mu       sync.Mutex
	inflight int // requests handed to Deliver and not yet ended
	held     int // of them, those waiting in a group
	// limit is how many deliveries qmail-send may have in flight: control/concurrencyremote at
	// start; raised when more are seen in flight, lowered to what was in flight when a window
	// passed with every delivery held and nothing new (qmail-send could not, or had nothing).
	limit  int
	groups map[groupKey]*group

	jobs int // jobs started, for the tests
}

type groupKey struct{ messid, sender, host string }

// group is requests held for one job.
type group struct {
	key   groupKey
	reqs  []held
	timer *time.Timer
}

type held struct {
	req  *qmailspawn.Request
	done qmailspawn.Done
}

func newBatcher(e *engines, limit int) *batcher {
	return &batcher{engines: e, limit: limit, groups: map[groupKey]*group{},
		deliverJob: func(ctx context.Context, p *deliver.Pool, j *deliver.Job) *deliver.Result { return p.Deliver(ctx, j) }}
}

// Deliver implements qmailspawn.Deliverer.
func (b *batcher) Deliver(ctx context.Context, req *qmailspawn.Request, done qmailspawn.Done) {
	h := held{req: req, done: b.ending(done)}
	_, fail, batch := b.engines.current()
	b.mu.Lock()
	b.inflight++
	if b.inflight > b.limit {
		b.limit = b.inflight
	}
	if fail != nil || batch.window <= 0 {
		b.jobs++
		b.mu.Unlock()
		b.run(ctx, []held{h})
		return
	}
	var ready []*group
	for k, g := range b.groups {
		if k.messid != req.MessID {
			ready = append(ready, b.takeLocked(g))
		}
	}
	k := groupKey{req.MessID, req.Sender, req.Host}
	g := b.groups[k]
	if g != nil && g.has(req.Recipient) { // a second RCPT of the same address would merge them
		ready = append(ready, b.takeLocked(g))
		g = nil
	}
	if g == nil {
		g = &group{key: k}
		b.groups[k] = g
		g.timer = time.AfterFunc(batch.window, func() { b.expire(ctx, g) })
	}
	g.reqs = append(g.reqs, h)
	b.held++
	if len(g.reqs) >= batch.maxRcpt {
		ready = append(ready, b.takeLocked(g))
	}
	if b.held == b.inflight && b.inflight >= b.limit {
		for _, g := range b.groups {
			ready = append(ready, b.takeLocked(g))
		}
	}
	b.jobs += len(ready)
	b.mu.Unlock()
	for _, g := range ready {
		go b.run(ctx, g.reqs)
	}
}

// has reports whether the group holds a request for rcpt.
func (g *group) has(rcpt string) bool {
	for _, h := range g.reqs {
		if h.req.Recipient == rcpt {
			return true
		}
	}
	return false
}

// takeLocked removes g from the held groups and returns it.
func (b *batcher) takeLocked(g *group) *group {
	g.timer.Stop()
	delete(b.groups, g.key)
	b.held -= len(g.reqs)
	return g
}

// expire sends g when its window has passed and it is still held.
func (b *batcher) expire(ctx context.Context, g *group) {
	b.mu.Lock()
	if b.groups[g.key] != g {
		b.mu.Unlock()
		return
	}
	if b.held == b.inflight {
		b.limit = b.inflight
	}
	b.takeLocked(g)
	b.jobs++
	b.mu.Unlock()
	b.run(ctx, g.reqs)
}

// ending wraps a request's done so that the count of requests in flight drops before the report
// goes out (qmail-send answers a report with its next request) and only once.
func (b *batcher) ending(done qmailspawn.Done) qmailspawn.Done {
	var once sync.Once
	return func(o qmailspawn.Outcome) {
		once.Do(func() {
			b.mu.Lock()
			b.inflight--
			b.mu.Unlock()
			done(o)
		})
	}
}

// run delivers reqs (one message, sender and host) as one job and ends each request with its
// recipient's report, on the pool of the control files as they are now. A panic ends every
// request not yet ended with Crashed.
func (b *batcher) run(ctx context.Context, reqs []held) {
	defer func() {
		if recover() != nil {
			for _, h := range reqs {
				h.done(qmailspawn.Outcome{Crashed: true})
			}
		}
	}()
	endAll := func(out []byte) {
		for _, h := range reqs {
			h.done(qmailspawn.Outcome{Output: out})
		}
	}
	pool, fail, _ := b.engines.current()
	if fail != nil {
		endAll(fail)
		return
	}
	// Every request opened the same file; the first one's is read (in place) for all of them.
	msg, err := message.Read(reqs[0].req.Message, "")
	if err != nil {
		endAll(report.Message(report.ReadMessage))
		return
	}
	defer msg.Close()
	job := &deliver.Job{Host: reqs[0].req.Host, Sender: reqs[0].req.Sender, Message: msg}
	for _, h := range reqs {
		job.Recipients = append(job.Recipients, h.req.Recipient)
	}
	res := b.deliverJob(ctx, pool, job)
	for i, h := range reqs {
		h.done(qmailspawn.Outcome{Output: report.QmailOne(res, i)})
	}
}
