// Package report renders delivery results for their readers. Qmail writes the qmail-remote
// report bytes that qmail-send reads: recipient reports (r, h, s) in argument order, then one
// message report (K, Z, D), each ended by a NUL (spec/qmail-remote-behaviour.md). Later formats
// (transport-mode status lines, JSON) are further views of the same deliver.Result.
//
// It knows nothing of the network: everything it prints comes from the result.
package report
