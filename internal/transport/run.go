package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/report"
	"github.com/mxout/mxout/internal/smtp"
)

// Deliverer runs one delivery job; *deliver.Pool implements it.
type Deliverer interface {
	Deliver(ctx context.Context, job *deliver.Job) *deliver.Result
}

// DefaultMaxJobs is Runner.MaxJobs when none is set.
const DefaultMaxJobs = 200

// Runner reads jobs and runs them as they arrive, writing each job's statuses when it ends.
type Runner struct {
	Pool Deliverer
	Out  io.Writer
	JSON bool
	// Dest is -d: the destination of every job that names none; "" groups recipients by domain.
	Dest string
	// Forced is -F: the route decides for everything, so a job's recipients stay together.
	Forced bool
	// RcptLimit (--rcpt-limit) cuts a larger group into several transactions; 0: no limit.
	RcptLimit int
	// MaxJobs bounds the jobs in flight (open message files, goroutines); 0 means
	// DefaultMaxJobs. Jobs beyond the sessions wait in line; more of them only helps when many
	// destinations are slow at once, and each costs a goroutine the collector must scan.
	MaxJobs int
	Log     *slog.Logger
	// Progress, when set, is told of every finished job (a terminal's progress bar).
	Progress func(done int)
	// DSN holds the RFC 3461 parameters of jobs that give none (--ret, --envid, --notify); a
	// job's own ret, envid and notify win. ORcpt comes only from jobs.
	DSN smtp.DSN
	// RequireTLS asks for REQUIRETLS for every job (--requiretls); a job may ask on its own.
	RequireTLS bool

	mu  sync.Mutex
	out *bufio.Writer
	sum Summary
}

// Summary counts what a run did.
type Summary struct {
	Jobs, Recipients            int
	Delivered, Deferred, Failed int
	Interrupted                 bool
	Elapsed                     time.Duration
}

// String is the one-line summary the command prints at the end.
func (s Summary) String() string {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Jobs) / s.Elapsed.Seconds()
	}
	line := fmt.Sprintf("%d jobs, %d recipients: %d ok, %d deferred, %d error; %.1f messages/s in %s",
		s.Jobs, s.Recipients, s.Delivered, s.Deferred, s.Failed, rate, s.Elapsed.Round(time.Millisecond))
	if s.Interrupted {
		line += " (interrupted)"
	}
	return line
}

// Run reads jobs from in until it ends or stop is done, runs each on the pool, and returns
// when every job read has its statuses written. When stop ends first, no further job starts:
// every job read but not started is reported deferred 4.3.2, the transactions in flight run to
// their end (they use ctx, which stop does not end).
func (r *Runner) Run(ctx, stop context.Context, in io.Reader) Summary {
	start := time.Now()
	r.out = bufio.NewWriterSize(r.Out, 64<<10)
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	maxJobs := r.MaxJobs
	if maxJobs <= 0 {
		maxJobs = DefaultMaxJobs
	}
	type item struct {
		job *Job
		err error
	}
	items := make(chan item)
	readerDone := make(chan struct{})
	go func() { // reading stdin blocks; stop must not wait for it
		defer close(readerDone)
		jr := NewReader(in)
		for {
			j, err := jr.Next()
			if err == io.EOF {
				close(items)
				return
			}
			select {
			case items <- item{j, err}:
			case <-stop.Done():
				return
			}
			if err != nil && !isBadJob(err) {
				close(items)
				return
			}
		}
	}()
	runDone := make(chan struct{})
	defer close(runDone)
	go r.flusher(runDone)
	if st, ok := r.Pool.(interface{ Stop() }); ok {
		go func() { // jobs that wait for a session have not started: they end as deferred 4.3.2
			select {
			case <-stop.Done():
				st.Stop()
			case <-runDone:
			}
		}()
	}
	slots := make(chan struct{}, maxJobs)
	var wg sync.WaitGroup
loop:
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-items:
			if !ok {
				break loop
			}
		case <-stop.Done():
			break loop
		}
		if it.err != nil {
			r.badJob(it.err)
			if !isBadJob(it.err) {
				break loop
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-stop.Done():
			r.write(it.job.ID, interrupted(it.job))
			break loop
		}
		wg.Add(1)
		go func(j *Job) {
			defer func() { <-slots; wg.Done() }()
			r.write(j.ID, r.runJob(ctx, stop, j))
		}(it.job)
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Interrupted = stop.Err() != nil
	r.sum.Elapsed = time.Since(start)
	r.out.Flush()
	return r.sum
}

func isBadJob(err error) bool {
	var bj *BadJob
	return errors.As(err, &bj)
}

// badJob reports a job line that cannot run (or the input failing) as one status line.
func (r *Runner) badJob(err error) {
	id := "-"
	o := outcome.Local(outcome.BadJob, smtp.PhaseConnect, err.Error(), err)
	var bj *BadJob
	if errors.As(err, &bj) {
		id = bj.ID
	} else {
		o = outcome.Local(outcome.LocalError, smtp.PhaseConnect, "reading jobs: "+err.Error(), err)
	}
	r.write(id, &outcome.Message{Recipients: []outcome.Recipient{{Address: "-", Outcome: o}}})
}

// interrupted is the message of a job that was read but never started.
func interrupted(j *Job) *outcome.Message {
	m := &outcome.Message{Recipients: make([]outcome.Recipient, len(j.Recipients))}
	for i, a := range j.Recipients {
		m.Recipients[i] = outcome.Recipient{Address: a,
			Outcome: outcome.Local(outcome.Interrupted, smtp.PhaseConnect, "stopped before this job started", nil)}
	}
	return m
}

// runJob delivers one job: its message file opened once, its recipients grouped by
// destination, each group on the pool, the outcomes put back in the job's order.
func (r *Runner) runJob(ctx, stop context.Context, j *Job) *outcome.Message {
	start := time.Now()
	m := &outcome.Message{Recipients: make([]outcome.Recipient, len(j.Recipients))}
	for i, a := range j.Recipients {
		m.Recipients[i].Address = a
	}
	all := func(o outcome.Outcome) *outcome.Message {
		for i := range m.Recipients {
			m.Recipients[i].Outcome = o
		}
		m.Elapsed = time.Since(start)
		return m
	}
	if stop.Err() != nil {
		return interrupted(j)
	}
	msg, err := message.OpenFile(j.File)
	var pe *os.PathError
	switch {
	case errors.As(err, &pe) && pe.Op == "open":
		return all(outcome.Local(outcome.NoFile, smtp.PhaseConnect, "cannot open the message file: "+err.Error(), err))
	case err != nil:
		return all(outcome.Local(outcome.MessageUnreadable, smtp.PhaseConnect, "cannot read the message file: "+err.Error(), err))
	}
	defer msg.Close()
	groups := r.groups(j, m)
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dj := &deliver.Job{Host: g.Host, Sender: j.Sender, Message: msg, DSN: r.jobDSN(j, g.Idx),
				RequireTLS: j.RequireTLS || r.RequireTLS}
			for _, i := range g.Idx {
				dj.Recipients = append(dj.Recipients, j.Recipients[i])
			}
			res := r.Pool.Deliver(ctx, dj)
			for k, i := range g.Idx {
				m.Recipients[i].Outcome = res.Recipients[k]
			}
		}()
	}
	wg.Wait()
	m.Elapsed = time.Since(start)
	return m
}

// jobDSN is the DSN parameters of a job's recipients idx: the job's own fields, else the
// defaults; ORCPT per recipient, from the job only.
func (r *Runner) jobDSN(j *Job, idx []int) smtp.DSN {
	d := r.DSN
	if j.Ret != "" {
		d.Ret = strings.ToUpper(j.Ret)
	}
	if j.EnvID != "" {
		d.EnvID = j.EnvID
	}
	if j.Notify != "" {
		d.Notify = j.Notify
	}
	d.ORcpt = nil
	if j.ORcpt != nil {
		d.ORcpt = make([]string, len(idx))
		for k, i := range idx {
			d.ORcpt[k] = j.ORcpt[i]
		}
	}
	return d
}

// groups splits a job's recipients into transactions (deliver.GroupRecipients): the job's
// host, -d, or (without either) each recipient's domain, cut at RcptLimit. A recipient without a
// domain gets its Outcome here.
func (r *Runner) groups(j *Job, m *outcome.Message) []deliver.Group {
	host := j.Host
	if host == "" {
		host = r.Dest
	}
	groups, noDomain := deliver.GroupRecipients(j.Recipients, host, r.Forced, r.RcptLimit)
	for _, i := range noDomain {
		m.Recipients[i].Outcome = outcome.Local(outcome.BadRecipient, smtp.PhaseRcpt,
			"the recipient has no domain to deliver to", nil)
	}
	return groups
}

// FlushEvery is how long a status line may wait in the output buffer. Writing each job's lines at
// once cost a system call per message; a queue manager that reads statuses as jobs finish sees
// them at most this much later.
const FlushEvery = 20 * time.Millisecond

// flusher writes buffered status lines out every FlushEvery until done.
func (r *Runner) flusher(done <-chan struct{}) {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			r.mu.Lock()
			if r.out.Buffered() > 0 {
				r.out.Flush()
			}
			r.mu.Unlock()
		}
	}
}

// write prints one job's statuses (or JSON object) and counts them.
func (r *Runner) write(id string, m *outcome.Message) {
	var b []byte
	if r.JSON {
		b = report.JSON(id, m)
	} else {
		b = report.StatusLines(id, m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Write(b) // flushed within FlushEvery: a queue manager reads statuses as jobs finish
	r.sum.Jobs++
	for i := range m.Recipients {
		r.sum.Recipients++
		switch m.Recipients[i].Status {
		case outcome.Delivered:
			r.sum.Delivered++
		case outcome.Failed:
			r.sum.Failed++
		default:
			r.sum.Deferred++
		}
	}
	if r.Progress != nil {
		r.Progress(r.sum.Jobs)
	}
	r.Log.Debug("job done", "id", id, "status", m.Status(), "elapsed", m.Elapsed)
}
