package smtptest

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// accept hands each incoming connection to a player until the listener is
// closed. Connections beyond the scripted ones are closed and fail the test.
func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				s.fail(&failure{conn: 0, err: fmt.Errorf("accept: %w", err)})
			}
			return
		}
		s.mu.Lock()
		n := s.accepted
		s.accepted++
		switch {
		case s.closed:
			c.Close()
		case n >= len(s.slots):
			c.Close()
			s.failures = append(s.failures, &failure{conn: n + 1,
				err: fmt.Errorf("unexpected connection: only %d were scripted", len(s.slots))})
			s.settleLocked()
		default:
			s.slots[n].started = true
			s.slots[n].conn = c
			s.wg.Add(1)
			go newPlayer(s, n, c).run()
		}
		s.mu.Unlock()
	}
}

// cleanup ends the server when the test ends: it closes the listener, closes
// stalled and lingering connections at once, gives the others a grace period
// to see their client's close, closes what is left, waits for every goroutine
// and reports every failure through t.Errorf.
func (s *Server) cleanup() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
	close(s.ended)
	s.closeConns(true)
	if !waitFor(&s.wg, grace) {
		s.closeConns(false)
		s.wg.Wait()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sl := range s.slots {
		if !sl.started {
			s.failures = append(s.failures, &failure{conn: i + 1,
				err: errors.New("no connection arrived for this script")})
		}
	}
	s.settleLocked() // nothing more can happen: Wait must not block
	for _, f := range s.failures {
		s.t.Errorf("%v", f)
	}
}

// closeConns closes the connections of running scripts: only the quick ones
// (stalled or lingering), or all.
func (s *Server) closeConns(quickOnly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.slots {
		if sl.conn != nil && (sl.quick || !quickOnly) {
			sl.conn.Close()
		}
	}
}

// waitFor waits for wg at most d and reports whether it finished. The helper
// goroutine ends when wg does, which the caller then forces.
func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
