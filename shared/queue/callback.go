package queue

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/webhook"
)

// Callbacks posts results to callback URLs, signed and checked as webhooks are (see the
// webhook package): https (http to loopback), never a special-purpose address (IANA
// registries: link-local and metadata services, 100.64.0.0/10, …) but loopback, nor a
// private one unless the hosts are pinned, redirects never followed. Send's errors name
// the URL without its query or userinfo (webhook.Redact).
type Callbacks struct {
	Secret []byte
	// SecretFunc, when set, replaces Secret (QUEUE_CALLBACK_SECRET_FROM: it rotates).
	SecretFunc   func() []byte
	AllowedHosts []string // empty: any host (https only, http for loopback)
	Attempts     int      // default 3
	Client       *http.Client
	Now          func() time.Time

	once sync.Once
	t    *webhook.Target // one for all callbacks: its connections are kept
}

func (c *Callbacks) target() *webhook.Target {
	c.once.Do(func() {
		c.t = &webhook.Target{Secret: c.Secret, SecretFunc: c.SecretFunc, AllowedHosts: c.AllowedHosts, Client: c.Client, Now: c.Now}
	})
	return c.t
}

// Check refuses callback URLs the settings do not allow (400 or 403, never retried).
func (c *Callbacks) Check(raw string) error {
	if len(c.Secret) == 0 && c.SecretFunc == nil {
		return errcode.Denied("callbackUrl", "callbacks are off: set QUEUE_CALLBACK_SECRET")
	}
	err := c.target().Check(raw)
	switch {
	case errors.Is(err, webhook.ErrInvalidURL):
		return errcode.Invalid("callbackUrl", "callbackUrl must be an absolute https URL (http only to loopback)")
	case err != nil:
		return errcode.Denied("callbackUrl", "%s (QUEUE_CALLBACK_ALLOWED_HOSTS lists the hosts callbacks may go to)", err.Error())
	}
	return nil
}

// RefusedError means the receiver answered 3xx or 4xx: delivering again would not help.
type RefusedError = webhook.RefusedError

// Send posts the result, retrying with backoff inside the context's deadline.
func (c *Callbacks) Send(ctx context.Context, target string, res *Result) error {
	body, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return c.target().Deliver(ctx, target, body, c.Attempts, 10*time.Second)
}
