package downgrade

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// The kinds of failure. Each is permanent for the message on this channel: sending it again
// the same way gives the same result. They arrive wrapped in an *Error, which tells where.
var (
	// ErrHeader8Bit: a header field holds 8-bit bytes and cannot be turned into encoded-words
	// (a structured field such as From or To, or bytes that are not UTF-8). Only a server
	// with SMTPUTF8 can take it (RFC 6532 §3).
	ErrHeader8Bit = errors.New("8-bit header field needs SMTPUTF8")
	// ErrLimit: a header section over Options.MaxHeaderBytes, or 8-bit data in an entity
	// nested deeper than Options.MaxDepth.
	ErrLimit = errors.New("message over the downgrade limits")
	// ErrMalformed: 8-bit data where no encoding can be applied: in a part that says it is
	// already quoted-printable or base64 (or names an unknown encoding), in a multipart
	// without a usable boundary, in a message/rfc822 with an encoding of its own, or in a
	// header section go-message cannot parse.
	ErrMalformed = errors.New("8-bit data in a part that cannot be re-encoded")
	// ErrLate8Bit: a part declared 7-bit (or not declared) whose first Options.LookAhead bytes
	// were 7-bit, so it went out as is, shows 8-bit data further on. Its header is already
	// written, so the downgrade cannot change its encoding any more.
	ErrLate8Bit = errors.New("8-bit data past the look-ahead in a part sent as 7-bit")
)

// Error is a failed downgrade: what went wrong (Err, one of the sentinels above) and where.
// Errors reading src or writing dst are returned as they are, wrapped with "downgrade:", not
// as *Error: they say nothing about the message.
type Error struct {
	Part  string // MIME part number as in IMAP (RFC 3501 §6.4.5): "" is the message, "2.1" the first part of the second
	Field string // the header field name in lower case, for ErrHeader8Bit
	Err   error  // ErrHeader8Bit, ErrLimit, ErrMalformed or ErrLate8Bit
	utf8  bool   // the 8-bit field is valid UTF-8
}

func (e *Error) Error() string {
	where := "message"
	if e.Part != "" {
		where = "part " + e.Part
	}
	if e.Field != "" {
		where += " field " + e.Field
	}
	return fmt.Sprintf("downgrade: %s: %v (#%s)", where, e.Err, e.Code())
}

func (e *Error) Unwrap() error { return e.Err }

// Code is the enhanced status code (RFC 3463) for the delivery report, always of class 5:
// "5.6.9" for a UTF-8 header field that only SMTPUTF8 could carry (X.6.9 of RFC 6531, "UTF-8
// header message cannot be transferred"), "5.6.3" (conversion required but not supported,
// RFC 3463 §3.7) for everything else.
func (e *Error) Code() string {
	if errors.Is(e.Err, ErrHeader8Bit) && e.utf8 {
		return "5.6.9"
	}
	return "5.6.3"
}

// headerError reports an 8-bit header field; the code depends on whether its bytes are UTF-8.
func headerError(part, field string, value []byte) *Error {
	return &Error{Part: part, Field: field, Err: ErrHeader8Bit, utf8: utf8.Valid(value)}
}
