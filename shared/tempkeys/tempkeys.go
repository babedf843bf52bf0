// Package tempkeys is the contract of temporary keys: keys a store's own client SDKs
// (Tencent's COS SDKs) upload with, scoped to one upload by the policy (POST /sts). The
// service decides what a set may do (upload.Service.Keys); a store that can mint them
// implements Issuer.
package tempkeys

import (
	"context"
	"time"

	"github.com/directup/directup/shared/policy"
)

// Issuer is a store that can hand a client temporary keys scoped to one upload — the
// one key, the upload calls, the declared type and size — for the storage's own client SDKs
// to upload with (COS through Tencent STS; the local store's stand-in). Errors:
// errcode.NotAvailable when the store has nothing to narrow (COS without COS_ROLE_ARN),
// errcode.CredentialsFailed when the issuer refused or failed, with its request id.
type Issuer interface {
	IssueKeys(ctx context.Context, scope Scope) (*Keys, error)
}

// Scope is what one set of keys may do.
type Scope struct {
	Key         policy.ObjectKey // admitted by the policy's key rule: never a pattern
	ContentType string
	Size        int64 // no request may carry more
	TTL         time.Duration
}

// Keys are scoped keys and where to use them.
type Keys struct {
	SecretID, SecretKey, SessionToken string
	Start, Expires                    time.Time
	RequestID                         string // the STS request's
	Bucket, Region, Key               string
	Endpoint                          string // set where an SDK cannot derive it (a custom or local endpoint)
	// ContentType and ContentDisposition are the headers the client's upload must carry
	// (ContentDisposition "" none): what is stored otherwise is deleted after the fact.
	ContentType, ContentDisposition string
}
