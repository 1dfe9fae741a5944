// Command qrload runs a qmail-remote binary the way qmail-send does, one process per delivery, many
// times in a row or several at a time, and measures the wall-clock cost. It is the driver of
// bench/qmail-remote.sh; it knows nothing of mxout's packages, only qmail-remote's contract
// (spec/qmail-remote-behaviour.md): arguments host, sender and recipients, the message on standard
// input, NUL-ended reports on standard output, exit status 0.
//
// Usage:
//
//	qrload -bin PATH -msg FILE [-n 500] [-c 1] [-env NAME=VALUE]... HOST SENDER RCPT...
//
// Every delivery opens FILE anew for its standard input, as qmail-send does. A delivery counts as
// good when the process exits 0 and its last report starts with K. The result is one line of
// name=value pairs (deliveries, concurrency, bad, seconds, ms_per_delivery, per_second, p50_ms,
// p99_ms, max_ms, cpu_ms_per_delivery: the CPU time of the qmail-remote processes, not the
// driver's), and the exit status is 1 when any delivery was bad.
package main
