package uploadplan

import (
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/signed"
	"github.com/directup/directup/shared/storage"
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
	ContentType    string `json:"t,omitempty"` // as declared: the completed object is checked against it
	// Open uploads (the Uppy Companion protocol) have no part plan: the client never
	// declared a size, so Size is the policy's ceiling, enforced at complete.
	Open bool `json:"o,omitempty"`
	// ForbidOverwrite: the complete must not replace an existing object (stores that
	// check it at complete, S3, need it then; COS took it at initiate).
	ForbidOverwrite bool `json:"n,omitempty"`
	// Write names this upload's write of the object (WriteMetadata): events of two
	// uploads of the same bytes to one key are told apart by it.
	Write string `json:"w,omitempty"`
	// Profile names the profile whose rules the upload is held to ("" the deployment's).
	Profile string `json:"pf,omitempty"`
	// HeadLen and HeadDigest describe the first bytes the create sent (base64url of the
	// first 16 bytes of their SHA-256): the stored object must begin with them.
	HeadLen    int    `json:"hl,omitempty"`
	HeadDigest string `json:"hd,omitempty"`
	// Checksum names the whole-object checksum the upload was created with (the store's,
	// checksum.CRC64ECMA or CRC64NVME; "" in tokens from before checksums).
	Checksum string `json:"ck,omitempty"`
	// Settings, for an upload whose complete records what it stored (where temporary keys
	// for its key can go to someone else), digests the Content-Type and settings the
	// initiate asked for: an object found with others, while others' keys were out, is
	// none the complete may record as the upload's.
	Settings string `json:"st,omitempty"`
}

// Plan rebuilds the part plan the token carries.
func (c *Claims) Plan() Plan {
	if c.Open {
		return Plan{Size: c.Size, PartCount: storage.MaxParts}
	}
	p, _ := New(c.Size, c.PartSize, c.PartSize)
	return p
}

// Tokens signs and verifies upload tokens: "v1." + base64url(JSON claims) + "." +
// base64url(HMAC-SHA256(secret, "v1." + payload)), made with the signed package.
type Tokens struct {
	signer *signed.Signer
}

// NewTokens returns a signer for the given secret (at least 32 bytes outside tests).
func NewTokens(secret []byte) *Tokens { return NewTokensKeys(signed.Fixed(secret)) }

// NewTokensKeys is NewTokens with keys that may rotate (a token signed before still verifies).
func NewTokensKeys(k signed.Keys) *Tokens { return &Tokens{signer: signed.NewKeys(k, "", "v1.")} }

// Sign encodes and signs claims.
func (t *Tokens) Sign(c Claims) string { return t.signer.Sign(c) }

// Verify checks a token's signature and expiry and returns its claims.
func (t *Tokens) Verify(token string, now time.Time) (*Claims, error) {
	invalid := &errcode.Error{Code: errcode.TokenInvalid, Field: "X-Upload-Token",
		Message: "the upload token is not valid"}
	if token == "" {
		return nil, &errcode.Error{Code: errcode.TokenMissing, Field: "X-Upload-Token",
			Message: "send the token from the initiate answer in the X-Upload-Token header"}
	}
	var c Claims
	if err := t.signer.Verify(token, &c); err != nil || c.UploadID == "" || c.Key == "" || (c.PartSize <= 0 && !c.Open) || c.Size < 0 {
		return nil, invalid
	}
	if now.Unix() >= c.Expires {
		return nil, &errcode.Error{Code: errcode.TokenExpired, Field: "X-Upload-Token",
			Message: "the upload token has expired; start a new upload"}
	}
	return &c, nil
}
