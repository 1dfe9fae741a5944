package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// envList collects repeated -env flags.
type envList []string

func (e *envList) String() string     { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

// job is what every delivery of one run shares.
type job struct {
	bin  string
	msg  string
	args []string
	env  []string
}

// outcome is one delivery's duration and, when it was bad, why.
type outcome struct {
	took time.Duration
	bad  string
}

// run is main without the process: it parses flags, runs the deliveries and prints one result line.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qrload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "qmail-remote binary")
	msg := fs.String("msg", "", "message file, standard input of every delivery")
	n := fs.Int("n", 500, "number of deliveries")
	c := fs.Int("c", 1, "deliveries at a time")
	var env envList
	fs.Var(&env, "env", "NAME=VALUE added to the environment (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *bin == "" || *msg == "" || fs.NArg() < 3 || *n < 1 || *c < 1 {
		fmt.Fprintln(stderr, "usage: qrload -bin PATH -msg FILE [-n N] [-c N] [-env NAME=VALUE]... HOST SENDER RCPT...")
		return 2
	}
	j := job{bin: *bin, msg: *msg, args: fs.Args(), env: append(os.Environ(), env...)}
	start := time.Now()
	outcomes := deliverAll(j, *n, *c)
	elapsed := time.Since(start)
	return summarize(outcomes, *c, elapsed, stdout, stderr)
}

// deliverAll runs n deliveries, c at a time, and returns their outcomes in no particular order.
func deliverAll(j job, n, c int) []outcome {
	outcomes := make([]outcome, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outcomes[i] = deliverOne(j)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return outcomes
}

// deliverOne runs the binary once and checks that it exited 0 and ended with a K report.
func deliverOne(j job) outcome {
	start := time.Now()
	in, err := os.Open(j.msg)
	if err != nil {
		return outcome{bad: err.Error()}
	}
	defer in.Close()
	var out bytes.Buffer
	cmd := exec.Command(j.bin, j.args...)
	cmd.Env, cmd.Stdin, cmd.Stdout = j.env, in, &out
	err = cmd.Run()
	took := time.Since(start)
	switch reports := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte{0}), []byte{0}); {
	case err != nil:
		return outcome{took, fmt.Sprintf("%v, stdout %q", err, out.Bytes())}
	case !bytes.HasPrefix(reports[len(reports)-1], []byte("K")):
		return outcome{took, fmt.Sprintf("no K report: %q", out.Bytes())}
	}
	return outcome{took: took}
}

// summarize prints the result line and the first few bad deliveries; it returns the exit status.
func summarize(outcomes []outcome, c int, elapsed time.Duration, stdout, stderr io.Writer) int {
	var took []time.Duration
	bad := 0
	for _, o := range outcomes {
		took = append(took, o.took)
		if o.bad != "" {
			if bad < 3 {
				fmt.Fprintln(stderr, "qrload: bad delivery:", o.bad)
			}
			bad++
		}
	}
	slices.Sort(took)
	n := len(outcomes)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Fprintf(stdout, "deliveries=%d concurrency=%d bad=%d seconds=%.3f ms_per_delivery=%.2f per_second=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f cpu_ms_per_delivery=%.3f\n",
		n, c, bad, elapsed.Seconds(), ms(elapsed)/float64(n), float64(n)/elapsed.Seconds(),
		ms(took[n/2]), ms(took[n*99/100]), ms(took[n-1]), ms(childCPU())/float64(n))
	if bad > 0 {
		return 1
	}
	return 0
}

// childCPU is the user and system CPU time of every qmail-remote process run so far (the
// driver's own time is not counted).
func childCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
