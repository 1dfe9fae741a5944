module github.com/mxout/mxout

go 1.26.0

require (
	github.com/emersion/go-message v0.18.2
	github.com/miekg/dns v1.1.73
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78
	golang.org/x/net v0.62.0
)

require (
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
