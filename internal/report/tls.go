package report

import (
	"errors"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/smtp"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// TLS report texts follow the s/qmail 4.3 manual page's list, with its typos corrected
// (docs/tls.md lists each correction): "verfied" -> "verified", "X.500" -> "X.509",
// "posses" -> "possesses", "StartTLS" -> "STARTTLS", and no stray space after the letter.

// tlsName says how the peer was authenticated, in the K report.
func tlsName(v tlspolicy.Verified) string {
	switch v {
	case tlspolicy.VerifiedCA:
		return "TLS (verified CA)"
	case tlspolicy.VerifiedCAName:
		return "TLS (verified CA+DN*)"
	case tlspolicy.VerifiedCANameExact:
		return "TLS (verified CA+DN)"
	case tlspolicy.VerifiedPin:
		return "TLS (CERT pinning)"
	case tlspolicy.VerifiedDANEEE, tlspolicy.VerifiedDANETA:
		return "TLS (TLSA validated)"
	case tlspolicy.VerifiedMTASTS:
		return "TLS (MTA-STS validated)"
	}
	return "TLS"
}

// tlsReport is the report for a session that failed at STARTTLS or the handshake.
func tlsReport(res *deliver.Result, e *smtp.Error) string {
	ip := res.Message.Peer.Addr().String()
	mx, host := outsafe(res.Message.Host), outsafe(res.Destination)
	switch {
	case errors.Is(e.Err, deliver.ErrTLSNotOffered):
		return "ZI wasn't able to negotiate a STARTTLS connection with: " + mx + " for " + host + ". (#4.4.1)\n"
	case e.Reply != nil:
		return "ZConnected to " + ip + " but STARTTLS was rejected.\n" + said(e.Reply)
	case errors.Is(e.Err, tlspolicy.ErrPin):
		return "ZReceived X.509 certificate from: " + mx + " for " + host + " does not match provided fingerprint. (#4.4.1)\n"
	case errors.Is(e.Err, tlspolicy.ErrDANE):
		return "ZReceived X.509 certificate from: " + mx + " for " + host + " does not match its TLSA records. (#4.4.1)\n"
	case errors.Is(e.Err, tlspolicy.ErrName):
		return "ZUnable to validate X.509 certificate Subject for: " + host + " at " + mx + ". (#4.4.1)\n"
	case errors.Is(e.Err, tlspolicy.ErrCAVerify):
		return "ZUnable to verify X.509 certificate from: " + mx + " for " + host + ". (#4.4.1)\n"
	case errors.Is(e.Err, smtp.ErrTLS):
		return "ZTLS connection/protocol error with host: " + mx + " for " + host + ". (#4.4.1)\n"
	}
	return "ZConnected to " + ip + " but connection died. (#4.4.2)\n"
}

// policyReport is the report for TLS requirements that could not be set up before connecting.
func policyReport(res *deliver.Result, e *tlspolicy.Error) string {
	subject := outsafe(e.Subject)
	switch e.Kind {
	case tlspolicy.KindCAFile:
		return "ZI wasn't able to set up CAFILE or CADIR: " + subject + " for TLS. (#4.4.1)\n"
	case tlspolicy.KindCiphers:
		return "ZI wasn't able to process the TLS ciphers: " + subject + ". (#4.4.1)\n"
	case tlspolicy.KindClientCert:
		return "ZCan't load X.509 certificate: " + subject + ". (#4.4.1)\n"
	case tlspolicy.KindClientKey:
		return "ZCan't load X.509 private key: " + subject + ". (#4.4.1)\n"
	case tlspolicy.KindKeyMismatch:
		return "ZKeyfile does not match X.509 certificate: " + subject + ". (#4.4.1)\n"
	case tlspolicy.KindTLSALookup:
		return "ZTLSA lookup failed temporarily for: " + outsafe(res.Message.Host) + ". (#4.4.3)\n"
	case tlspolicy.KindMTASTS:
		return "ZNo MX host of " + outsafe(res.Destination) + " is allowed by its MTA-STS policy (last refused: " + subject + "). (#4.4.4)\n"
	}
	return "ZI wasn't able to create TLS context for: " + outsafe(res.Destination) + " at " + outsafe(res.Message.Host) + ": " + subject + " is not supported. (#4.4.1)\n"
}
