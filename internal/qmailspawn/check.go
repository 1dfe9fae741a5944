package qmailspawn

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The reference spawner's refusal reports (spawn.c, docmd), byte for byte, and the two this
// package adds for addresses past MaxAddress.
const (
	ReportDelnumTooBig     = "ZInternal error: delnum too big. (#4.3.5)\n"
	ReportDelnumInUse      = "ZInternal error: delnum in use. (#4.3.5)\n"
	ReportMessIDNonNumeric = "DInternal error: messid has nonnumerics. (#5.3.5)\n"
	ReportMessIDTooLong    = "DInternal error: messid too long. (#5.3.5)\n"
	ReportMessIDTooShort   = "DInternal error: messid too short. (#5.3.5)\n"
	ReportNoHost           = "DSorry, address must include host name. (#5.1.3)\n"
	ReportCannotOpen       = "Zqmail-spawn unable to open message. (#4.3.0)\n"
	ReportCannotFstat      = "Zqmail-spawn unable to fstat message. (#4.3.0)\n"
	ReportWrongType        = "ZSorry, message has wrong type. (#4.3.5)\n"
	ReportWrongOwner       = "ZSorry, message has wrong owner. (#4.3.5)\n"

	// Where the reference runs out of memory ("Zqmail-spawn out of memory. (#4.3.0)", retried
	// until the queue lifetime ends), an address this long can never be delivered: refused at once.
	ReportSenderTooLong    = "DSorry, sender address is too long. (#5.1.7)\n"
	ReportRecipientTooLong = "DSorry, recipient address is too long. (#5.1.3)\n"
)

// Check makes the checks that need no file, in the reference's order (the address lengths first,
// where the reference checks for lack of memory): delnum below concurrency and not in use, the
// messid, a recipient with '@'. It returns the refusal report, or "" when c passes.
func Check(c *Command, concurrency int, inUse func(delnum byte) bool) string {
	switch {
	case c.senderLong || len(c.Sender) > MaxAddress:
		return ReportSenderTooLong
	case c.recipientLong || len(c.Recipient) > MaxAddress:
		return ReportRecipientTooLong
	case int(c.Delnum) >= concurrency:
		return ReportDelnumTooBig
	case inUse(c.Delnum):
		return ReportDelnumInUse
	case c.messIDBad || !validMessID(c.MessID):
		return ReportMessIDNonNumeric
	case len(c.MessID) > MaxMessID:
		return ReportMessIDTooLong
	case c.MessID == "":
		return ReportMessIDTooShort
	case !strings.Contains(c.Recipient, "@"):
		return ReportNoHost
	}
	return ""
}

func validMessID(s string) bool {
	for i := 0; i < len(s); i++ {
		if !messIDByte(i, s[i]) {
			return false
		}
	}
	return true
}

// Host is the part of a recipient after its last '@': where the reference's qmail-remote is
// told to deliver.
func Host(recipient string) string {
	return recipient[strings.LastIndexByte(recipient, '@')+1:]
}

// OpenMessage opens dir/messid as the reference does and checks that it is a regular file owned
// by queueUID (the qmailq user: a file anyone else planted is never sent). It returns the open
// file, or nil and the refusal report. The file is opened without blocking, so a FIFO planted in
// the queue cannot hang the reader; a regular file is then read in the ordinary blocking way.
func OpenMessage(dir, messid string, queueUID int) (*os.File, string) {
	path := filepath.Join(dir, messid)
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, ReportCannotOpen
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, ReportCannotFstat
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, ReportWrongType
	}
	if int64(st.Uid) != int64(queueUID) {
		syscall.Close(fd)
		return nil, ReportWrongOwner
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, ReportCannotOpen
	}
	return os.NewFile(uintptr(fd), path), ""
}
