// Package spawntest is a fake qmail-send for tests: it starts a spawner binary the way
// qmail-start does (requests on fd 0, reports on fd 1, descriptors 2 to 6 closed, working
// directory /, another user) and speaks qmail-send's side of the protocol
// (spec/qmail-spawn-protocol.md): it reads the hello byte, keeps at most that many deliveries in
// flight, gives each request the lowest free delnum, reuses a delnum only after its report, and
// fails the test on a report for a delnum with nothing in flight.
//
// It must not know the spawner under test: it imports nothing of mxout but the wire format's
// encoder, and every read has a deadline so no test hangs.
package spawntest
