package storerest

import (
	"context"
	"net/http"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
)

// Names are a dialect's header names for an object's settings; the headers themselves are
// the same REST headers on COS and S3.
type Names struct {
	Prefix    string              // "X-Cos-", "X-Amz-"
	EscapeTag func(string) string // how tag keys and values are encoded in the tagging header
	// StorageClass maps the JSON API's class to the store's (nil: the same name).
	StorageClass func(string) string
	KMS          string // the KMS encryption's name: "cos/kms", "aws:kms"
	KMSKeyID     string // the header of its key id
	DefaultACL   bool   // send acl "default" as such (COS) rather than leave it out (S3)
}

// InitiateHeaders renders the settings both stores share: entity headers, metadata,
// storage class, tagging, canned ACL and the three kinds of server-side encryption. What
// only one store has (COS's grants and forbid-overwrite) its package adds.
func InitiateHeaders(obj *storage.Object, n Names) http.Header {
	h := http.Header{}
	set := func(name, v string) {
		if v != "" {
			h[http.CanonicalHeaderKey(name)] = []string{v}
		}
	}
	set("Content-Type", obj.ContentType)
	set("Cache-Control", obj.CacheControl)
	set("Content-Disposition", obj.ContentDisposition)
	set("Content-Encoding", obj.ContentEncoding)
	set("Expires", obj.Expires)
	for k, v := range obj.Metadata {
		set(n.Prefix+"Meta-"+k, v)
	}
	class := obj.StorageClass
	if n.StorageClass != nil && class != "" {
		class = n.StorageClass(class)
	}
	set(n.Prefix+"Storage-Class", class)
	if len(obj.Tags) > 0 {
		set(n.Prefix+"Tagging", policy.EncodeTags(obj.Tags, n.EscapeTag))
	}
	if obj.ACL != "default" || n.DefaultACL {
		set(n.Prefix+"Acl", obj.ACL)
	}
	if e := obj.Encryption; e != nil {
		switch e.Type {
		case storage.SSECOS:
			set(n.Prefix+"Server-Side-Encryption", "AES256")
		case storage.SSEKMS:
			set(n.Prefix+"Server-Side-Encryption", n.KMS)
			set(n.KMSKeyID, e.KMSKeyID)
			set(n.Prefix+"Server-Side-Encryption-Context", e.Context)
		case storage.SSEC:
			set(n.Prefix+"Server-Side-Encryption-Customer-Algorithm", "AES256")
			set(n.Prefix+"Server-Side-Encryption-Customer-Key", e.CustomerKey)
			set(n.Prefix+"Server-Side-Encryption-Customer-Key-Md5", e.CustomerKeyMD5)
		}
	}
	return h
}

// SSECPartHeaders are what every part request of an SSE-C upload carries besides the key:
// the algorithm and the key's MD5 (which part URLs sign), in lowercase for clients; and
// the name of the header the client sends the key itself in.
func SSECPartHeaders(prefix, keyMD5 string) (headers map[string]string, keyHeader string) {
	p := lower(prefix) + "server-side-encryption-customer-"
	return map[string]string{p + "algorithm": "AES256", p + "key-MD5": keyMD5}, p + "key"
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// PresignWindow returns the credentials to presign with, the time they sign at, and when
// the URLs stop working: ttl after now (at most maxTTL, 0 for no such limit), never after
// the credentials' own expiry. A window under a minute is refused as unavailable: the
// credentials are about to be replaced.
func (c *Client) PresignWindow(ctx context.Context, ttl, maxTTL time.Duration) (credentials.Value, time.Time, time.Time, error) {
	cred, err := c.Credentials(ctx)
	if err != nil {
		return cred, time.Time{}, time.Time{}, err
	}
	now := c.Now()
	if maxTTL > 0 {
		ttl = min(ttl, maxTTL)
	}
	end := now.Add(ttl)
	if !cred.Expires.IsZero() && cred.Expires.Before(end) {
		end = cred.Expires
	}
	if end.Before(now.Add(time.Minute)) {
		return cred, now, end, &errcode.Error{Code: errcode.CredentialsFailed,
			Message: "signing credentials expire too soon to presign parts; retry shortly"}
	}
	return cred, now, end, nil
}
