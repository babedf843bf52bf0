package signed

import (
	"encoding/base64"
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

// A rotation: the new value signs, the value it replaced still verifies and signs
// nothing; a token of neither fails; derived keys follow the same rule.
func TestRingRotation(t *testing.T) {
	var r Ring
	s := NewKeys(&r, "d:", "v1.")
	r.Set([]byte("first-secret-0123456789abcdef"), nil)
	old := s.Sign(map[string]int{"n": 1})
	r.Set([]byte("second-secret-0123456789abcdef"), []byte("first-secret-0123456789abcdef"))
	fresh := s.Sign(map[string]int{"n": 2})
	var v map[string]int
	if err := s.Verify(old, &v); err != nil || v["n"] != 1 {
		t.Fatalf("a token signed before the rotation: %v", err)
	}
	if err := New([]byte("second-secret-0123456789abcdef"), "d:", "v1.").Verify(fresh, &v); err != nil {
		t.Fatalf("a new token is not the new value's: %v", err)
	}
	if New([]byte("first-secret-0123456789abcdef"), "d:", "v1.").Verify(fresh, &v) == nil {
		t.Fatal("the previous value still signs")
	}
	r.Set([]byte("third-secret-0123456789abcdef"), []byte("second-secret-0123456789abcdef"))
	if s.Verify(old, &v) == nil {
		t.Fatal("a value two rotations old still verifies")
	}
	if s.Verify(fresh, &v) != nil {
		t.Fatal("the previous value does not verify")
	}
	d := Derived(&r, "label")
	sign, prev := d.Keys()
	if string(sign) != string(DeriveKey([]byte("third-secret-0123456789abcdef"), "label")) || len(prev) != 1 ||
		string(prev[0]) != string(DeriveKey([]byte("second-secret-0123456789abcdef"), "label")) {
		t.Fatal("derived keys do not follow the ring")
	}
}

// Before a value is known nothing is signed (a panic, not an empty-key MAC) and nothing
// verifies.
func TestRingEmpty(t *testing.T) {
	var r Ring
	s := NewKeys(&r, "", "v1.")
	payload := "v1." + base64.RawURLEncoding.EncodeToString([]byte("1"))
	emptyKeyMAC := payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(nil, payload))
	var v int
	if s.Verify(emptyKeyMAC, &v) == nil {
		t.Fatal("a MAC with an empty key verified")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("signed with no key")
		}
	}()
	s.Sign(1)
}
