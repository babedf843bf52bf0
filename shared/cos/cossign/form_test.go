package cossign

import (
	"encoding/base64"
	"testing"
)

// The worked example of COS's POST Object documentation ("Signature protection"): its
// policy form field, keys and window, and the intermediate values it prints.
func TestSignPolicyDocumentedExample(t *testing.T) {
	policy, err := base64.StdEncoding.DecodeString("ewogICAgImV4cGlyYXRpb24iOiAiMjAxOS0wOC0zMFQwOTozODoxMi40MTRaIiwKICAgICJjb25kaXRpb25zIjogWwogICAgICAgIHsgImFjbCI6ICJkZWZhdWx0IiB9LAogICAgICAgIHsgImJ1Y2tldCI6ICJleGFtcGxlYnVja2V0LTEyNTAwMDAwMDAiIH0sCiAgICAgICAgWyAic3RhcnRzLXdpdGgiLCAiJGtleSIsICJmb2xkZXIvc3ViZm9sZGVyLyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIsICIkQ29udGVudC1UeXBlIiwgImltYWdlLyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIsICIkc3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiLCAiaHR0cHM6Ly9teS53ZWJzaXRlLyIgXSwKICAgICAgICBbICJlcSIsICIkeC1jb3Mtc2VydmVyLXNpZGUtZW5jcnlwdGlvbiIsICJBRVMyNTYiIF0sCiAgICAgICAgeyAicS1zaWduLWFsZ29yaXRobSI6ICJzaGExIiB9LAogICAgICAgIHsgInEtYWsiOiAiQUtJRFFqejNsdG9tcFZqQm5pNUxpdGtXSEZsRnB3a245VTVxIiB9LAogICAgICAgIHsgInEtc2lnbi10aW1lIjogIjE1NjcxNTA2OTI7MTU2NzE1Nzg5MiIgfQogICAgXQp9")
	if err != nil {
		t.Fatal(err)
	}
	const secretKey, keyTime = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz", "1567150692;1567157892"
	if got := string(SignKey(secretKey, keyTime)); got != "39acc8c9f34ba5b19bce4e965b370cd3f62d2fba" {
		t.Fatalf("SignKey = %s", got)
	}
	if got := SignPolicy(secretKey, keyTime, policy); got != "7758dc9a832e9d301dca704cacbf9d9f8172fdef" {
		t.Fatalf("q-signature = %s, the documentation's is 7758dc9a832e9d301dca704cacbf9d9f8172fdef", got)
	}
}
