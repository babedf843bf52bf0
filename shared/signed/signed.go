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
	"sync/atomic"
)

// ErrInvalid is any token that is not one this Signer made: malformed, tampered, another
// version or domain. Callers map it to their own error.
var ErrInvalid = errors.New("signed: the token is not valid")

// MaxLength bounds a token (a longer one is refused before any work).
const MaxLength = 4096

// Signer signs and verifies one kind of token.
type Signer struct {
	keys    Keys
	domain  string // what the MAC is about, beside the version
	version string // "v1.": the token's prefix
}

// New returns a Signer; version prefixes its tokens ("v1."), domain separates its MACs
// from other kinds made with the same secret ("" for none).
func New(secret []byte, domain, version string) *Signer {
	return NewKeys(Fixed(secret), domain, version)
}

// NewKeys is New with keys that may change (a secret read from a store and rotated).
func NewKeys(keys Keys, domain, version string) *Signer {
	return &Signer{keys: keys, domain: domain, version: version}
}

// Keys is the secret to sign with now and the ones still accepted: during a rotation the
// value it replaced verifies, signs nothing, until what it signed has expired.
type Keys interface {
	// Keys returns the signing key (nil before any is known) and the verify-only ones.
	Keys() (sign []byte, verifyOnly [][]byte)
}

// Fixed is one key that never changes.
func Fixed(secret []byte) Keys { return fixed(secret) }

type fixed []byte

func (f fixed) Keys() ([]byte, [][]byte) { return f, nil }

// Ring holds keys that change: Set installs a new signing key, and the one before it
// stays as a verify-only key. Safe for concurrent use.
type Ring struct{ p atomic.Pointer[ringKeys] }

type ringKeys struct {
	sign     []byte
	previous [][]byte
}

// Set makes current the signing key and previous (when not empty) the verify-only one.
func (r *Ring) Set(current, previous []byte) {
	k := &ringKeys{sign: current}
	if len(previous) > 0 {
		k.previous = [][]byte{previous}
	}
	r.p.Store(k)
}

// Keys implements Keys.
func (r *Ring) Keys() ([]byte, [][]byte) {
	if k := r.p.Load(); k != nil {
		return k.sign, k.previous
	}
	return nil, nil
}

// Derived is keys of their own for one use of every key of k (DeriveKey with label).
func Derived(k Keys, label string) Keys { return derived{k, label} }

type derived struct {
	k     Keys
	label string
}

func (d derived) Keys() ([]byte, [][]byte) {
	sign, prev := d.k.Keys()
	if len(sign) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(prev))
	for i, p := range prev {
		out[i] = DeriveKey(p, d.label)
	}
	return DeriveKey(sign, d.label), out
}

// strict refuses non-canonical base64 (stray bits in the last character), so every
// accepted token has exactly one spelling.
var strict = base64.RawURLEncoding.Strict()

func (s *Signer) mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
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
	key, _ := s.keys.Keys()
	if len(key) == 0 {
		panic("signed: no signing key yet (a secret from a store is read before use)")
	}
	payload := s.version + base64.RawURLEncoding.EncodeToString(js)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(key, payload))
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
	if err != nil || !s.verifies(got, payload) {
		return ErrInvalid
	}
	js, err := strict.DecodeString(payload[len(s.version):])
	if err != nil || json.Unmarshal(js, v) != nil {
		return ErrInvalid
	}
	return nil
}

// verifies reports whether mac is payload's under the signing key or a verify-only one.
func (s *Signer) verifies(mac []byte, payload string) bool {
	key, previous := s.keys.Keys()
	for _, k := range append([][]byte{key}, previous...) {
		if len(k) > 0 && hmac.Equal(mac, s.mac(k, payload)) {
			return true
		}
	}
	return false
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
