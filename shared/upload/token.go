package upload

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Claims are what an upload token binds: the follow-up calls of one upload need no
// database, because everything they must check travels signed in the token.
type Claims struct {
	Bucket         string `json:"b"`
	Key            string `json:"k"`
	UploadID       string `json:"u"`
	Size           int64  `json:"s"`
	PartSize       int64  `json:"p"`
	Issued         int64  `json:"i,omitempty"` // Unix seconds; 0 in tokens issued before it was added
	Expires        int64  `json:"e"`           // Unix seconds
	Subject        string `json:"sub,omitempty"`
	CustomerKeyMD5 string `json:"c,omitempty"` // SSE-C uploads: part URLs pin this key
	// Open uploads (the Uppy Companion protocol) have no part plan: the client never
	// declared a size, so Size is the policy's ceiling, enforced at complete.
	Open bool `json:"o,omitempty"`
	// ForbidOverwrite: the complete must not replace an existing object (stores that
	// check it at complete, S3, need it then; COS took it at initiate).
	ForbidOverwrite bool `json:"n,omitempty"`
}

// Plan rebuilds the part plan the token carries.
func (c *Claims) Plan() Plan {
	if c.Open {
		return Plan{Size: c.Size, PartCount: MaxParts}
	}
	p, _ := NewPlan(c.Size, c.PartSize, c.PartSize)
	return p
}

// Tokens signs and verifies upload tokens with HMAC-SHA256.
// Format: "v1." + base64url(JSON claims) + "." + base64url(HMAC(secret, "v1." + payload)).
type Tokens struct {
	secret []byte
}

// Canonical reports whether s holds only base64url characters and dots. The decoder
// skips CR and LF even in strict mode, so without this check one token would have
// other spellings.
func Canonical(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// strict refuses non-canonical base64 (stray bits in the last character), so every
// accepted token has exactly one spelling.
var strict = base64.RawURLEncoding.Strict()

const (
	tokenVersion  = "v1."
	maxTokenBytes = 4096
)

// NewTokens returns a signer for the given secret (at least 32 bytes outside tests).
func NewTokens(secret []byte) *Tokens { return &Tokens{secret: secret} }

// Sign encodes and signs claims.
func (t *Tokens) Sign(c Claims) string {
	js, _ := json.Marshal(c) // a struct of strings and integers always marshals
	payload := tokenVersion + base64.RawURLEncoding.EncodeToString(js)
	return payload + "." + base64.RawURLEncoding.EncodeToString(t.mac(payload))
}

func (t *Tokens) mac(payload string) []byte {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Verify checks a token's signature and expiry and returns its claims.
func (t *Tokens) Verify(token string, now time.Time) (*Claims, error) {
	invalid := &Error{Status: http.StatusUnauthorized, Code: CodeTokenInvalid, Field: "X-Upload-Token",
		Message: "the upload token is not valid"}
	if token == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: CodeTokenMissing, Field: "X-Upload-Token",
			Message: "send the token from the initiate answer in the X-Upload-Token header"}
	}
	if len(token) > maxTokenBytes || !strings.HasPrefix(token, tokenVersion) || !Canonical(token) {
		return nil, invalid
	}
	dot := strings.LastIndexByte(token, '.')
	if dot <= len(tokenVersion) {
		return nil, invalid
	}
	payload, sig := token[:dot], token[dot+1:]
	got, err := strict.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac(payload)) {
		return nil, invalid
	}
	js, err := strict.DecodeString(payload[len(tokenVersion):])
	if err != nil {
		return nil, invalid
	}
	var c Claims
	if err := json.Unmarshal(js, &c); err != nil || c.UploadID == "" || c.Key == "" || (c.PartSize <= 0 && !c.Open) || c.Size < 0 {
		return nil, invalid
	}
	if now.Unix() >= c.Expires {
		return nil, &Error{Status: http.StatusUnauthorized, Code: CodeTokenExpired, Field: "X-Upload-Token",
			Message: "the upload token has expired; start a new upload"}
	}
	return &c, nil
}
