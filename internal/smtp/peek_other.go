//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package smtp

import "net"

// peekSocket cannot look at the socket on this platform; pending falls back to a short read.
func peekSocket(net.Conn) socketState { return socketUnknown }
