package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/directup/directup/shared/records"
)

// KeyIssuer is a store that can hand a client temporary keys scoped to one upload — the
// one key, the upload calls, the declared type and size — for the storage's own client SDKs
// to upload with (COS through Tencent STS; the local store's stand-in).
type KeyIssuer interface {
	IssueKeys(ctx context.Context, scope KeyScope) (*TemporaryKeys, error)
}

// KeyScope is what one set of keys may do.
type KeyScope struct {
	Key         ObjectKey // admitted by the policy's key rule: never a pattern
	ContentType string
	Size        int64 // no request may carry more
	TTL         time.Duration
}

// TemporaryKeys are scoped keys and where to use them.
type TemporaryKeys struct {
	SecretID, SecretKey, SessionToken string
	Start, Expires                    time.Time
	RequestID                         string // the STS request's
	Bucket, Region, Key               string
	Endpoint                          string // set where an SDK cannot derive it (a custom or local endpoint)
}

// CodeNotAvailable: the store cannot do what was asked (no temporary keys on S3).
const CodeNotAvailable = "not_available"

// Keys checks req exactly as Initiate does — the policy, the hook — and, instead of
// starting an upload, hands out temporary keys scoped to the key it chose
// (UPLOAD_ALLOW_STS). The client's SDK then drives the upload itself: part sizes are not
// pinned, so the storage-triggered function checks what was stored.
func (s *Service) Keys(ctx context.Context, req *InitiateRequest) (*TemporaryKeys, error) {
	if !s.policy.AllowSTS {
		return nil, Denied("", "this deployment does not hand out temporary keys (UPLOAD_ALLOW_STS): use POST /uploads")
	}
	issuer, ok := s.store.(KeyIssuer)
	if !ok {
		return nil, &Error{Status: http.StatusNotImplemented, Code: CodeNotAvailable, Message: "this store cannot issue temporary keys"}
	}
	caps := s.store.Capabilities()
	obj, plan, err := s.policy.objectFor(req, func(filename string) (string, error) {
		return generateKey(s.random, s.policy.KeyTemplate, s.policy.KeyPrefix, Caller(ctx), filename, s.now())
	}, caps)
	if err != nil {
		return nil, err
	}
	if s.hook != nil {
		if err := s.askHook(ctx, req, obj, plan, false); err != nil {
			return nil, err
		}
	}
	// The CAM resource is built from the admitted key only (no wildcard, no variable).
	key, err := s.policy.AdmitKey(obj.Key, caps)
	if err != nil {
		return nil, err
	}
	keys, err := issuer.IssueKeys(ctx, KeyScope{Key: key, ContentType: obj.ContentType, Size: plan.Size, TTL: s.policy.STSTTL})
	if err != nil {
		return nil, err // nothing was recorded: a failed request leaves no trace in the bucket
	}
	// What was declared is recorded beside the upload once the keys exist: with keys, the
	// client's SDK cuts the parts, so only the storage-triggered function can hold the
	// stored object to the declared size and type, after the fact. The declaration is the
	// caller's and its keys': it holds only for an object written while they were valid,
	// and a later declaration for the key (new keys, or an upload through the API)
	// replaces it. Keys whose declaration could not be kept are not handed out.
	if s.records != nil {
		sum := sha256.Sum256([]byte(keys.SecretID))
		d := declared{Size: plan.Size, ContentType: obj.ContentType, Caller: Caller(ctx), Keys: hex.EncodeToString(sum[:8]),
			NotBefore: keys.Start.Unix(), NotAfter: keys.Expires.Unix()}
		if err := s.records.Put(ctx, records.Declared, obj.Key, &d); err != nil {
			return nil, err
		}
	}
	keys.Bucket, keys.Key = s.store.Bucket(), obj.Key
	return keys, nil
}

// declared is what a caller declared for an object key: for temporary keys (Keys names
// their fingerprint) or for an upload through the API (UploadID).
type declared struct {
	Size        int64  `json:"size"`
	Open        bool   `json:"open,omitempty"` // an open upload's: Size is only the ceiling
	ContentType string `json:"contentType"`
	Caller      string `json:"caller"`
	Keys        string `json:"keys,omitempty"`     // first 8 bytes of SHA-256(SecretId), hex
	UploadID    string `json:"uploadId,omitempty"` // an API upload's
	// The declaration holds for an object last modified in [NotBefore, NotAfter] (Unix
	// seconds; a minute of clock skew either side): while its keys were valid, or while
	// the API upload ran.
	NotBefore int64 `json:"notBefore"`
	NotAfter  int64 `json:"notAfter"`
}

// holds reports whether d describes an object last modified at t.
func (d *declared) holds(t time.Time) bool {
	const skew = 60
	return !t.IsZero() && t.Unix() >= d.NotBefore-skew && t.Unix() <= d.NotAfter+skew
}

// declaredFor returns what was declared for key, if anything holds for an object last
// modified at modified. A forged declaration is logged and ignored.
func (s *Service) declaredFor(ctx context.Context, key string, modified time.Time) (*declared, error) {
	if s.records == nil {
		return nil, nil
	}
	var d declared
	found, err := s.records.Get(ctx, records.Declared, key, &d)
	if errors.Is(err, records.ErrForged) {
		s.log.Error("record not written by directup: ignored", "kind", records.Declared, "key", key, "error", err.Error())
		return nil, nil
	}
	if err != nil || !found || !d.holds(modified) {
		return nil, err
	}
	return &d, nil
}

// declareAPIUpload records, before an API upload completes, what its token declares, so
// that a declaration made earlier for other keys on the same key (another caller's,
// perhaps) is not held against this upload's object. Only deployments that hand out
// keys keep declarations.
func (s *Service) declareAPIUpload(ctx context.Context, c *Claims) error {
	if s.records == nil || !s.policy.AllowSTS {
		return nil
	}
	issued := c.Issued
	if issued == 0 {
		issued = s.now().Unix()
	}
	d := declared{Size: c.Size, Open: c.Open, ContentType: c.ContentType, Caller: c.Subject, UploadID: c.UploadID,
		NotBefore: issued, NotAfter: s.now().Add(time.Minute).Unix()}
	return s.records.Put(ctx, records.Declared, c.Key, &d)
}
