// Package sink is a minimal SMTP server that accepts every message and discards it (or hands it
// to a callback). It serves `mxout demo`, which needs a real server on loopback without any
// installed MTA, and the benchmarks, which need a server that costs as little as possible.
//
// It offers PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and ENHANCEDSTATUSCODES and implements just
// enough of RFC 5321 §4.1 to receive mail correctly: it is not a mail server.
package sink
