package tempkeys

import (
	"github.com/directup/directup/shared/policy"

	"context"
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
	Key         policy.ObjectKey // admitted by the policy's key rule: never a pattern
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
