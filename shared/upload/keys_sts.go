package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// KeyIssuer is a store that can hand a client temporary keys scoped to one upload — the
// one key, the upload calls, the declared type and size — for the storage's own client SDKs
// to upload with (COS through Tencent STS; the local store's stand-in).
type KeyIssuer interface {
	IssueKeys(ctx context.Context, scope KeyScope) (*TemporaryKeys, error)
}

// KeyScope is what one set of keys may do.
type KeyScope struct {
	Key         string
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
	obj, plan, err := s.policy.objectFor(req, func(filename string) (string, error) {
		return generateKey(s.random, s.policy.KeyTemplate, s.policy.KeyPrefix, Caller(ctx), filename, s.now())
	}, s.store.Capabilities())
	if err != nil {
		return nil, err
	}
	if s.hook != nil {
		if err := s.askHook(ctx, req, obj, plan, false); err != nil {
			return nil, err
		}
	}
	// What was declared is recorded beside the upload: with keys, the client's SDK cuts the
	// parts, so only the storage-triggered function can hold the stored object to the
	// declared size (and type), after the fact.
	if rec, ok := s.store.(Recorder); ok {
		body, _ := json.Marshal(declared{Size: plan.Size, ContentType: obj.ContentType})
		if _, err := rec.PutMarker(ctx, declaredRecord(s.policy.KeyPrefix, obj.Key), body); err != nil {
			return nil, err
		}
	}
	keys, err := issuer.IssueKeys(ctx, KeyScope{Key: obj.Key, ContentType: obj.ContentType, Size: plan.Size, TTL: s.policy.STSTTL})
	if err != nil {
		return nil, err
	}
	keys.Bucket, keys.Key = s.store.Bucket(), obj.Key
	return keys, nil
}

// declared is what a client declared for an upload it drives with temporary keys.
type declared struct {
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
}

func declaredRecord(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return RecordKey(prefix, "declared/"+hex.EncodeToString(sum[:]))
}

// declaredFor returns what was declared for key when temporary keys were issued for it.
func (s *Service) declaredFor(ctx context.Context, key string) (*declared, error) {
	rec, ok := s.store.(Recorder)
	if !ok {
		return nil, nil
	}
	body, found, err := rec.GetMarker(ctx, declaredRecord(s.policy.KeyPrefix, key))
	if err != nil || !found {
		return nil, err
	}
	var d declared
	if json.Unmarshal(body, &d) != nil {
		return nil, nil
	}
	return &d, nil
}
