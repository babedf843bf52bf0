package signed

import (
	"strings"
	"testing"
)

// "MaxLength bounds a token (a longer one is refused before any work)": a token this very
// signer made is refused once it is longer than MaxLength, and verifies at or under it.
// Kills: signed.go `Verify` without its length bound.
func TestMutaudit2LongTokensAreRefused(t *testing.T) {
	s := New([]byte("0123456789abcdef0123456789abcdef"), "test:", "v1.")
	var v struct{ P string }
	for _, tc := range []struct {
		pad int
		ok  bool
	}{{100, true}, {4000, false}} {
		tok := s.Sign(struct{ P string }{strings.Repeat("p", tc.pad)})
		if (len(tok) <= MaxLength) != tc.ok {
			t.Fatalf("the test's token is %d bytes", len(tok))
		}
		if err := s.Verify(tok, &v); (err == nil) != tc.ok {
			t.Errorf("a signed token of %d bytes: %v; want ok %v", len(tok), err, tc.ok)
		}
	}
}
