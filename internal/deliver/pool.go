package deliver

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/smtp"
)

// Pool defaults, as mxout transport documents them (docs/commands.md).
const (
	DefaultMaxConns    = 20
	DefaultPerDest     = 20
	DefaultMaxPerConn  = 1000
	DefaultIdleTimeout = 10 * time.Second
	// ProbeAfter: a session idle longer than this gets an RSET before its next transaction,
	// so that one closed by the server meanwhile is found out before a message depends on it.
	ProbeAfter = 2 * time.Second
	// DeadAfter: a destination whose plan failed to give a session this many times in a row
	// (each time after every MX and every address was tried) is dead for the run; its
	// remaining jobs are deferred at once. Three whole walks are strong evidence, and each
	// costs up to the connect timeout per address, so waiting for more only delays the queue.
	DeadAfter = 3
	// reuseTries bounds how often one job is moved to a new session after its session was
	// found dead before the transaction took effect.
	reuseTries = 3
)

// Pool runs jobs on an Engine over sessions it keeps for later jobs. Sessions are grouped by
// destination and by everything that makes a session fit a message (the TLS rules that apply
// to its sender; later the source address and credentials); a job takes an idle session of its
// group, or opens a new one within the limits, or waits for either. Deliver is safe for
// concurrent use; Close ends every kept session.
type Pool struct {
	e           *Engine
	maxConns    int
	perDest     int
	maxPerConn  int
	idleTimeout time.Duration
	deadFor     time.Duration

	mu       sync.Mutex
	waiting  []*waiter // jobs waiting for a session or a slot, in arrival order
	idle     map[string][]*Session
	open     int                  // sessions open or being opened, idle or busy
	openDest map[string]int       // the same per destination
	failures map[string]int       // consecutive failed walks per destination
	lastFail map[string]time.Time // when the last of them ended
	janitor  bool                 // the idle-session reaper runs
	closed   bool
	stopped  bool

	// Counters, for the summary and the tests.
	Opened, Transactions, Reused int
}

// PoolOptions are the limits of a Pool; zero values take the defaults.
type PoolOptions struct {
	MaxConns    int // sessions open at once in all (-c)
	PerDest     int // sessions open at once per destination (--per-dest)
	MaxPerConn  int // transactions per session before a new one (--max-per-conn)
	IdleTimeout time.Duration
	// DeadFor is how long a dead destination stays dead: after it, one job walks the plan
	// again (and a failure makes the destination dead for another DeadFor). 0: for the life
	// of the pool, which suits a run over a fixed list of jobs but not a long-lived spawner.
	DeadFor time.Duration
}

// NewPool returns a pool on e. No goroutine starts before the first session is kept.
func NewPool(e *Engine, o PoolOptions) *Pool {
	p := &Pool{
		e: e, maxConns: o.MaxConns, perDest: o.PerDest, maxPerConn: o.MaxPerConn, idleTimeout: o.IdleTimeout, deadFor: o.DeadFor,
		idle: map[string][]*Session{}, openDest: map[string]int{}, failures: map[string]int{},
		lastFail: map[string]time.Time{},
	}
	if p.maxConns <= 0 {
		p.maxConns = DefaultMaxConns
	}
	if p.perDest <= 0 {
		p.perDest = DefaultPerDest
	}
	if p.perDest > p.maxConns {
		p.perDest = p.maxConns
	}
	if p.maxPerConn <= 0 {
		p.maxPerConn = DefaultMaxPerConn
	}
	if p.idleTimeout <= 0 {
		p.idleTimeout = DefaultIdleTimeout
	}
	return p
}

// Deliver runs job on a kept session of its group, or on a new one. A session found dead
// before the transaction took effect (a reset connection, a 421, a refused RSET) costs the job
// nothing: it runs again on another session. Every recipient of the result has its Outcome.
func (p *Pool) Deliver(ctx context.Context, job *Job) *Result {
	for try := 1; ; try++ {
		res := newResult(job)
		plan, dest, sp, err := p.e.plan(ctx, job.Host, job.Sender, res)
		if err != nil {
			res.Message = classify(err)
			res.finish()
			return res
		}
		if sp.QMTP {
			// QMTP sessions are not kept: a QMTP route gets a connection per job, outside
			// the pool's limits (docs/qmtp.md).
			p.e.walkQMTP(ctx, plan, dest, sp, job, res)
			res.finish()
			return res
		}
		pd := poolDest(plan, dest)
		group := p.e.groupKey(pd, job.Sender, sp) + p.e.tlsGroup(job)
		s, err := p.acquire(ctx, group, pd)
		if err != nil {
			res.Message = err.(outcomeError).o
			res.finish()
			return res
		}
		if s != nil { // a kept session
			if !s.c.DotQueued() && time.Since(s.idleSince) > ProbeAfter {
				s.dirty = true
			}
			p.count(func() { p.Reused++; p.Transactions++ })
			handed := false
			fresh := s.Transact(ctx, job, res, p.handOff(group, &handed))
			switch {
			case handed: // the session is the next job's now
			case fresh && try < reuseTries:
				p.discard(s, pd)
				continue
			default:
				p.release(s, group, pd)
			}
			res.finish()
			return res
		}
		// A slot is ours: walk the plan to open a session.
		var got *Session
		p.e.walkPlan(ctx, plan, dest, sp, job, res, func(ns *Session) bool {
			got = ns
			return true
		})
		if got == nil {
			p.walkFailed(pd)
			p.unreserve(pd)
			res.finish()
			return res
		}
		p.count(func() { p.Opened++; p.Transactions++; p.failures[pd] = 0 })
		got.key = group
		handed := false
		got.Transact(ctx, job, res, p.handOff(group, &handed)) // on a new session every failure is the job's own
		if !handed {
			p.release(got, group, pd)
		}
		res.finish()
		return res
	}
}

// poolDest is the destination as the pool counts it: dest and the port of its hops, so that two
// smtproutes entries for one relay name on different ports (a relay's 25 and 587, two test
// servers on 127.0.0.1) never share sessions or limits.
func poolDest(plan *route.Plan, dest string) string {
	if len(plan.Hops) == 0 {
		return dest
	}
	return net.JoinHostPort(dest, strconv.Itoa(int(plan.Hops[0].Port)))
}

// outcomeError carries an Outcome decided by the pool itself.
type outcomeError struct{ o outcome.Outcome }

func (e outcomeError) Error() string { return e.o.Local }

// waiter is a job waiting for a session of its group or for a free slot. Whoever serves it
// sends exactly one grant on ch (buffered) after taking it off the queue.
type waiter struct {
	group, dest string
	ch          chan grant
}

// grant is what a waiter receives: a kept session, a reserved slot, or why it gets neither.
type grant struct {
	s    *Session
	slot bool
	err  error
}

// errStopped is the pool's answer once Stop was called.
func errStopped() error {
	return outcomeError{outcome.Local(outcome.Interrupted, smtp.PhaseConnect, "stopped before a session was free", nil)}
}

func errDead(dest string) error {
	return outcomeError{outcome.Local(outcome.ConnectFailed, smtp.PhaseConnect,
		fmt.Sprintf("%s is unreachable: %d attempts in a row found no server to talk to", dest, DeadAfter), nil)}
}

// acquire returns an idle session of group, or nil with a reserved slot for a new one, waiting
// in line while the limits are reached. A dead destination, a stopped pool or the end of ctx is
// an outcomeError. Waiters are served one at a time, first come first served: a released
// session goes straight to the first waiter of its group, a freed slot to the first waiter
// whose destination has room, so a release wakes one goroutine, never all of them.
func (p *Pool) acquire(ctx context.Context, group, dest string) (*Session, error) {
	p.mu.Lock()
	switch {
	case p.stopped:
		p.mu.Unlock()
		return nil, errStopped()
	case p.failures[dest] >= DeadAfter && (p.deadFor <= 0 || time.Since(p.lastFail[dest]) < p.deadFor):
		p.mu.Unlock()
		return nil, errDead(dest)
	}
	if l := p.idle[group]; len(l) > 0 {
		s := l[len(l)-1] // the most recently used: the likeliest to be alive
		p.idle[group] = l[:len(l)-1]
		p.mu.Unlock()
		return s, nil
	}
	if p.open >= p.maxConns && p.openDest[dest] < p.perDest {
		p.closeOneIdleLocked() // an idle session of another group makes room
	}
	if p.open < p.maxConns && p.openDest[dest] < p.perDest {
		p.open++
		p.openDest[dest]++
		p.mu.Unlock()
		return nil, nil
	}
	w := &waiter{group: group, dest: dest, ch: make(chan grant, 1)}
	p.waiting = append(p.waiting, w)
	p.mu.Unlock()
	select {
	case g := <-w.ch:
		return g.s, g.err
	case <-ctx.Done():
	}
	p.mu.Lock()
	if i := slices.Index(p.waiting, w); i >= 0 {
		p.waiting = slices.Delete(p.waiting, i, i+1)
		p.mu.Unlock()
		return nil, outcomeError{outcome.Local(outcome.Interrupted, smtp.PhaseConnect, "stopped before a session was free", ctx.Err())}
	}
	p.mu.Unlock()
	g := <-w.ch // served meanwhile: take it, then give it back
	if g.s != nil {
		p.release(g.s, group, dest)
	} else if g.slot {
		p.unreserve(dest)
	}
	return nil, outcomeError{outcome.Local(outcome.Interrupted, smtp.PhaseConnect, "stopped before a session was free", ctx.Err())}
}

// popWaiterLocked takes the first waiter that match accepts off the line.
func (p *Pool) popWaiterLocked(match func(*waiter) bool) *waiter {
	for i, w := range p.waiting {
		if match(w) {
			p.waiting = slices.Delete(p.waiting, i, i+1)
			return w
		}
	}
	return nil
}

// closeOneIdleLocked closes the idle session that waited longest, to free a slot for another
// group. It reports whether there was one.
func (p *Pool) closeOneIdleLocked() bool {
	var oldest *Session
	var og string
	for g, l := range p.idle {
		if len(l) > 0 && (oldest == nil || l[0].idleSince.Before(oldest.idleSince)) {
			oldest, og = l[0], g
		}
	}
	if oldest == nil {
		return false
	}
	p.idle[og] = p.idle[og][1:]
	p.open--
	p.openDest[oldest.dest]--
	go oldest.Close(context.Background())
	return true
}

// handOff returns the offer Transact makes once a message's dot is queued: the session goes
// straight to the first job waiting for this group, which sends its commands behind the dot.
// Only jobs that wait take part, so an idle pool never holds a dot back.
// handed is set when the session was given away: it is no longer the caller's to release.
func (p *Pool) handOff(group string, handed *bool) func(*Session) bool {
	return func(s *Session) bool {
		if s.transactions >= p.maxPerConn || !s.Usable() {
			return false
		}
		p.mu.Lock()
		w := p.popWaiterLocked(func(w *waiter) bool { return w.group == group })
		p.mu.Unlock()
		if w == nil {
			return false
		}
		s.idleSince = time.Now()
		*handed = true
		w.ch <- grant{s: s}
		return true
	}
}

// release hands a session back after a transaction: to the first job waiting for its group,
// else kept idle while it is usable and under MaxPerConn; closed otherwise.
func (p *Pool) release(s *Session, group, dest string) {
	s.dest = dest
	s.settle(context.Background())
	if !s.Usable() || s.transactions >= p.maxPerConn {
		p.discard(s, dest)
		return
	}
	s.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || p.stopped && len(p.waiting) == 0 {
		p.mu.Unlock()
		p.discard(s, dest)
		return
	}
	if w := p.popWaiterLocked(func(w *waiter) bool { return w.group == group }); w != nil {
		p.mu.Unlock()
		w.ch <- grant{s: s}
		return
	}
	if w := p.popWaiterLocked(func(w *waiter) bool { return p.openDest[w.dest] < p.perDest }); w != nil {
		// Nobody wants this group now, but another one waits for a slot: this session's slot
		// is worth more there.
		p.openDest[dest]--
		p.openDest[w.dest]++
		p.mu.Unlock()
		go s.Close(context.Background())
		w.ch <- grant{slot: true}
		return
	}
	p.idle[group] = append(p.idle[group], s)
	if !p.janitor {
		p.janitor = true
		go p.reap()
	}
	p.mu.Unlock()
}

// discard closes a session and frees its slot.
func (p *Pool) discard(s *Session, dest string) {
	s.Close(context.Background())
	p.unreserve(dest)
}

// unreserve frees a slot of dest and gives it to the first waiter whose destination has room.
func (p *Pool) unreserve(dest string) {
	p.mu.Lock()
	p.open--
	p.openDest[dest]--
	p.grantSlotLocked()
	p.mu.Unlock()
}

// grantSlotLocked gives free slots to waiters, in order, while the limits allow.
func (p *Pool) grantSlotLocked() {
	for p.open < p.maxConns {
		w := p.popWaiterLocked(func(w *waiter) bool { return p.openDest[w.dest] < p.perDest })
		if w == nil {
			return
		}
		p.open++
		p.openDest[w.dest]++
		w.ch <- grant{slot: true}
	}
}

// walkFailed counts a walk that found no session; at DeadAfter the destination is dead and
// everyone waiting for it is told at once.
func (p *Pool) walkFailed(dest string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures[dest]++
	p.lastFail[dest] = time.Now()
	if p.failures[dest] < DeadAfter {
		return
	}
	for {
		w := p.popWaiterLocked(func(w *waiter) bool { return w.dest == dest })
		if w == nil {
			return
		}
		w.ch <- grant{err: errDead(dest)}
	}
}

func (p *Pool) count(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
}

// Stop makes every job that waits for a session, and every job that comes later, end at once
// as not started (deferred 4.3.2); transactions under way run to their end.
func (p *Pool) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for _, w := range p.waiting {
		w.ch <- grant{err: errStopped()}
	}
	p.waiting = nil
}

// reap closes sessions idle longer than the idle timeout, until the pool is closed.
func (p *Pool) reap() {
	tick := time.NewTicker(p.idleTimeout / 4)
	defer tick.Stop()
	for range tick.C {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		var expired []*Session
		for g, l := range p.idle {
			keep := l[:0]
			for _, s := range l {
				if time.Since(s.idleSince) > p.idleTimeout {
					expired = append(expired, s)
					p.open--
					p.openDest[s.dest]--
				} else {
					keep = append(keep, s)
				}
			}
			p.idle[g] = keep
		}
		p.grantSlotLocked()
		p.mu.Unlock()
		for _, s := range expired {
			s.Close(context.Background())
		}
	}
}

// Close ends every idle session with QUIT; sessions still busy are closed when handed back.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	var all []*Session
	for g, l := range p.idle {
		all = append(all, l...)
		for _, s := range l {
			p.open--
			p.openDest[s.dest]--
		}
		delete(p.idle, g)
	}
	p.grantSlotLocked()
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close(context.Background()) }()
	}
	wg.Wait()
}

// Stats returns the counters.
func (p *Pool) Stats() (opened, transactions, reused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Opened, p.Transactions, p.Reused
}
