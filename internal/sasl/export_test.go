package sasl

// NewSCRAMSHA256Nonce is NewSCRAMSHA256 with a fixed client nonce, for the tests of package
// sasl_test that script a server (a scripted server cannot answer a random nonce).
func NewSCRAMSHA256Nonce(c Credentials, nonce string) Mechanism {
	return &scramSHA256{c: c, nonce: func() string { return nonce }}
}
