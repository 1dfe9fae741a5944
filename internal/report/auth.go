package report

import (
	"errors"
	"strings"

	"github.com/mxout/mxout/internal/sasl"
	"github.com/mxout/mxout/internal/smtp"
)

// AUTH report texts: the twelve of the s/qmail 4.3 manual page and the three of its source
// (spec/sqmail-reports.md), with the typos corrected (docs/auth.md lists each): no
// "s/qmail: " inside the lines, "No supported", a space after "Connected to", "mechanism".
// Failures the reference cannot have (SCRAM, XOAUTH2, refusing to send a password in clear)
// get texts in the same style.

// AuthSkipped is the notice for a session that went on unauthenticated because the server
// offered no usable mechanism. s/qmail prints it as a K report of its own before the recipient
// reports; qmail-rspawn would take that K as the message's result, so mxout puts the line
// into the message report instead, after its first line.
const AuthSkipped = "No supported AUTH method found, continuing without authentication.\n"

// authReport is the report for a failed AUTH exchange.
func authReport(ip string, e *smtp.Error, ae *smtp.AuthError) string {
	pre := "Connected to " + ip + " but "
	mech := ae.Mechanism
	switch {
	case errors.Is(ae.Err, sasl.ErrPlainInClear):
		return "Z" + pre + "AUTH would send the password without TLS.\n"
	case errors.Is(ae.Err, sasl.ErrNoMechanism): // not reached: the session goes on unauthenticated
		return "Z" + pre + strings.ToLower(AuthSkipped[:1]) + AuthSkipped[1:]
	case errors.Is(ae.Err, sasl.ErrServerSignature):
		return "Z" + pre + "the server did not prove it knows the password (" + mech + ").\n" + said(e.Reply)
	case errors.Is(ae.Err, sasl.ErrCredentials):
		return "Z" + pre + "unable to base64encode " + encodeWhat(mech) + ".\n"
	case errors.Is(ae.Err, sasl.ErrBadChallenge) && mech == sasl.NameSCRAMSHA256:
		return "Z" + pre + "the " + mech + " challenge was invalid.\n" + said(e.Reply)
	case errors.Is(ae.Err, smtp.ErrAuthChallenge), errors.Is(ae.Err, sasl.ErrBadChallenge):
		return "Z" + pre + "unable to base64decode challenge.\n" + said(e.Reply)
	case errors.Is(ae.Err, sasl.ErrUnexpectedChallenge):
		return "Z" + pre + "authentication was rejected (AUTH " + mech + ").\n" + said(e.Reply)
	case e.Reply == nil:
		return sessionReport(ip, e)
	case e.Reply.Code == 432:
		return "D" + pre + "password expired.\n" + said(e.Reply)
	case e.Reply.Code == 534:
		return "Z" + pre + "authentication mechanism too weak (" + finalTag(mech) + ").\n" + said(e.Reply)
	}
	return "Z" + pre + "authentication was rejected (" + rejectedTag(mech, ae.Step, e.Reply.Code) + ").\n" + said(e.Reply)
}

// encodeWhat names what could not be encoded, as the manual's base64encode reports do.
func encodeWhat(mech string) string {
	switch mech {
	case sasl.NamePlain:
		return "(plain)"
	case sasl.NameLogin:
		return "user" // the manual also has "pass"; an empty user is checked first
	case sasl.NameCRAMMD5:
		return "username+digest"
	case "":
		return "(credentials)"
	}
	return "(" + strings.ToLower(mech) + ")"
}

// finalTag names a mechanism in the reports of its final reply, as the source does.
func finalTag(mech string) string {
	switch mech {
	case sasl.NameCRAMMD5:
		return "cram"
	}
	return strings.ToLower(mech)
}

// rejectedTag says which step a refusal answered: "AUTH NAME" for the command itself, then
// the manual's names of the later steps (LOGIN: username, then login; CRAM-MD5:
// username+digest), or the mechanism's name for its final reply. A reply to an AUTH command
// that carried the initial response (PLAIN, SCRAM-SHA-256, XOAUTH2) is a refusal of the command
// only when its code says the command or mechanism was not understood (5.5.x: 500-504), and
// otherwise the final verdict on the credentials.
func rejectedTag(mech string, step, code int) string {
	commandRefused := code >= 500 && code <= 504
	switch mech {
	case sasl.NameLogin:
		switch step {
		case 0:
			return "AUTH LOGIN"
		case 1:
			return "username"
		}
		return "login"
	case sasl.NameCRAMMD5:
		if step == 0 {
			return "AUTH CRAM-MD5"
		}
		return "username+digest"
	}
	if step == 0 && commandRefused {
		return "AUTH " + mech
	}
	return strings.ToLower(mech)
}
