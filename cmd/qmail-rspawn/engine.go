package main

import (
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/qmailremote"
	"github.com/mxout/mxout/internal/report"
)

// Pool settings of the spawner. Sessions are kept per destination as in mxout transport; the
// idle timeout lets every connection go soon after the queue drains. A destination found dead
// (deliver.DeadAfter whole walks in a row without a session) is deferred without new attempts
// for deadFor, which keeps qmail-send's slots from waiting on connect timeouts meanwhile.
const (
	idleTimeout = 10 * time.Second
	deadFor     = 30 * time.Second
	// recheck is how often the control directory is looked at for changes: a changed file
	// takes effect for deliveries that start after that (qmail-remote reads the files per run).
	recheck = time.Second
)

// engines keeps the pool that deliveries run on, built from the control files exactly as
// qmail-remote builds its engine (qmailremote.NewEngine), and builds a new one when a control
// file changes. The old pool ends its kept sessions; transactions running on it finish first.
type engines struct {
	home       string
	getenv     func(string) string
	transcript io.Writer
	maxConns   int // qmail-send's concurrency: at most one session per delivery in flight

	mu      sync.Mutex
	checked time.Time
	stamp   string
	pool    *deliver.Pool
	fail    []byte // the report for every delivery while the control files cannot be loaded
	batch   batching
	closed  bool
}

func newEngines(home string, getenv func(string) string, transcript io.Writer, maxConns int) *engines {
	return &engines{home: home, getenv: getenv, transcript: transcript, maxConns: maxConns}
}

// current returns the pool for a delivery starting now and the batching settings, or the report
// qmail-remote would give when the control files cannot be read.
func (e *engines) current() (*deliver.Pool, []byte, batching) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, report.Message(report.NoControl), batching{}
	}
	if now := time.Now(); now.Sub(e.checked) >= recheck || e.checked.IsZero() {
		e.checked = now
		dir := filepath.Join(e.home, "control")
		if st := stamp(dir); st != e.stamp || e.pool == nil && e.fail == nil {
			e.stamp = st
			e.reloadLocked(dir)
		}
	}
	return e.pool, e.fail, e.batch
}

// reloadLocked builds a new pool from the control files; a failure keeps none, so that
// deliveries get qmail-remote's report and the files are read again at the next check.
func (e *engines) reloadLocked(dir string) {
	if e.pool != nil {
		go e.pool.Close()
		e.pool = nil
	}
	e.batch = parseBatching(readControl(dir, "rspawnbatch"))
	cfg, fail := qmailremote.LoadControl(e.getenv)
	if fail != nil {
		e.fail = fail
		e.stamp = "" // read again at the next check even if nothing seems to change
		return
	}
	eng, err := qmailremote.NewEngine(cfg, e.getenv, e.transcript)
	if err != nil {
		e.fail = report.Message(qmailremote.ReportBadPort)
		return
	}
	e.fail = nil
	e.pool = deliver.NewPool(eng, deliver.PoolOptions{MaxConns: e.maxConns, PerDest: min(e.maxConns, deliver.DefaultPerDest),
		IdleTimeout: idleTimeout, DeadFor: deadFor})
}

// Close ends the kept sessions once no delivery runs any more.
func (e *engines) Close() {
	e.mu.Lock()
	p := e.pool
	e.pool, e.closed = nil, true
	e.mu.Unlock()
	if p != nil {
		p.Close()
	}
}
