package sasl_test

import (
	"encoding/base64"
	"fmt"

	"github.com/mxout/mxout/internal/sasl"
	"github.com/mxout/mxout/internal/secret"
)

// A server offering PLAIN, LOGIN and CRAM-MD5 in clear: CRAM-MD5 is chosen, since PLAIN and
// LOGIN would send the password itself. The smtp layer does the base64.
func ExampleChoose() {
	creds := sasl.Credentials{Username: "tim", Password: secret.New("tanstaaftanstaaf")}
	m, err := sasl.Choose([]string{"PLAIN", "LOGIN", "CRAM-MD5"}, creds, false, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	name, initial, _ := m.Start()
	fmt.Println("C: AUTH", name, initial == nil)
	challenge, _ := base64.StdEncoding.DecodeString("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
	resp, _ := m.Next(challenge)
	fmt.Println("C:", base64.StdEncoding.EncodeToString(resp))
	fmt.Printf("%v\n", creds)
	// Output:
	// C: AUTH CRAM-MD5 true
	// C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
	// {tim [redacted]  }
}
