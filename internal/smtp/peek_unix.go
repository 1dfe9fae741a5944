//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package smtp

import (
	"net"
	"syscall"
)

// peekSocket looks at a plain TCP connection's receive queue without reading from it and without
// waiting (MSG_PEEK|MSG_DONTWAIT), so a check for an early reply costs one system call and
// depends on no timing.
func peekSocket(conn net.Conn) socketState {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return socketUnknown
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return socketUnknown
	}
	st := socketUnknown
	var b [1]byte
	raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch err {
		case syscall.EAGAIN:
			st = socketQuiet
		case syscall.EINTR:
		default:
			st = socketReadable
		}
		return true
	})
	return st
}
