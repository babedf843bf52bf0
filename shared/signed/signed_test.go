package signed

import (
	"strings"
	"testing"
)

type claims struct {
	Sub string `json:"sub"`
	N   int    `json:"n"`
}

func TestSignVerify(t *testing.T) {
	a := New([]byte("secret-0123456789abcdef"), "", "v1.")
	tok := a.Sign(claims{"alice", 7})
	var got claims
	if err := a.Verify(tok, &got); err != nil || got != (claims{"alice", 7}) {
		t.Fatalf("Verify(Sign) = %+v, %v", got, err)
	}
	dot := strings.LastIndexByte(tok, '.')
	for name, bad := range map[string]string{
		"tampered MAC":             tok[:len(tok)-2] + "AA",
		"tampered claims":          tok[:4] + "x" + tok[5:],
		"other domain":             New([]byte("secret-0123456789abcdef"), "directup-capability:", "v1.").Sign(claims{"alice", 7}),
		"other version":            New([]byte("secret-0123456789abcdef"), "", "c1.").Sign(claims{"alice", 7}),
		"other secret":             New([]byte("another-secret-0123456"), "", "v1.").Sign(claims{"alice", 7}),
		"CR/LF inside":             tok[:dot] + "\r\n" + tok[dot:],
		"no MAC":                   tok[:dot],
		"empty":                    "",
		"too long":                 tok + strings.Repeat("A", MaxLength),
		"non-canonical base64":     tok[:len(tok)-1] + string(tok[len(tok)-1]^1),
		"claims that are not JSON": "v1.bm90IGpzb24." + tok[dot+1:],
	} {
		if err := a.Verify(bad, &got); err != ErrInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
