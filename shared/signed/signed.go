// Package signed is directup's one signed-token primitive: claims as base64url JSON and an
// HMAC-SHA256 over them, "<version><payload>.<mac>". Upload tokens and Uppy capabilities
// are both made with it, each under its own domain (the MAC covers domain + version +
// payload), so one secret can serve both and a token of one kind never verifies as the
// other.
package signed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// ErrInvalid is any token that is not one this Signer made: malformed, tampered, another
// version or domain. Callers map it to their own error.
var ErrInvalid = errors.New("signed: the token is not valid")

// MaxLength bounds a token (a longer one is refused before any work).
const MaxLength = 4096

// Signer signs and verifies one kind of token.
type Signer struct {
	secret  []byte
	domain  string // what the MAC is about, beside the version
	version string // "v1.": the token's prefix
}

// New returns a Signer; version prefixes its tokens ("v1."), domain separates its MACs
// from other kinds made with the same secret ("" for none).
func New(secret []byte, domain, version string) *Signer {
	return &Signer{secret: secret, domain: domain, version: version}
}

// strict refuses non-canonical base64 (stray bits in the last character), so every
// accepted token has exactly one spelling.
var strict = base64.RawURLEncoding.Strict()

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(s.domain))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Sign encodes claims (which must marshal) and signs them.
func (s *Signer) Sign(claims any) string {
	js, err := json.Marshal(claims)
	if err != nil {
		panic("signed: claims do not marshal: " + err.Error())
	}
	payload := s.version + base64.RawURLEncoding.EncodeToString(js)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Verify checks token's MAC and decodes its claims into v.
func (s *Signer) Verify(token string, v any) error {
	if len(token) > MaxLength || !strings.HasPrefix(token, s.version) || !canonical(token) {
		return ErrInvalid
	}
	dot := strings.LastIndexByte(token, '.')
	if dot <= len(s.version) {
		return ErrInvalid
	}
	payload, sig := token[:dot], token[dot+1:]
	got, err := strict.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return ErrInvalid
	}
	js, err := strict.DecodeString(payload[len(s.version):])
	if err != nil || json.Unmarshal(js, v) != nil {
		return ErrInvalid
	}
	return nil
}

// canonical reports whether t holds only base64url characters and dots. The decoder
// skips CR and LF even in strict mode, so without this check one token would have other
// spellings.
func canonical(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// DeriveKey is a key of its own for one use of secret (HMAC-SHA256(secret, label)): the
// upload-token secret serves records, write seals and tokens without one MAC ever
// verifying as another's.
func DeriveKey(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}
