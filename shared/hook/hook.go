// Package hook asks the deployer's own service about every upload before it starts
// (the Hook contract over HTTP): the event is POSTed to HOOK_URL, signed like every webhook
// (X-Directup-Signature, see shared/webhook), once, within HOOK_TIMEOUT. A timeout, a
// non-2xx answer, a redirect or a malformed answer is an error: the service then refuses
// the upload as unavailable, so nothing reaches storage without the hook's yes.
package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/directup/directup/shared/strictjson"
	"github.com/directup/directup/shared/webhook"
)

// Settings are the hook's environment variables.
type Settings struct {
	URL    string `envconfig:"HOOK_URL"`
	Secret string `envconfig:"HOOK_SECRET"`
	// SecretFrom names a secret store's entry holding it instead (shared/secrets).
	SecretFrom string        `envconfig:"HOOK_SECRET_FROM"`
	Timeout    time.Duration `envconfig:"HOOK_TIMEOUT" default:"3s"`
}

// Validate checks the settings; errors name the variable.
func (s Settings) Validate() error {
	if s.URL == "" {
		return nil
	}
	if err := (&webhook.Target{}).Check(s.URL); err != nil {
		return fmt.Errorf("HOOK_URL: %w", err)
	}
	if len(s.Secret) < 16 && s.SecretFrom == "" {
		return errors.New("HOOK_SECRET (or HOOK_SECRET_FROM): required with HOOK_URL, at least 16 characters")
	}
	if s.Timeout < 100*time.Millisecond || s.Timeout > 30*time.Second {
		return errors.New("HOOK_TIMEOUT: must be between 100ms and 30s")
	}
	return nil
}

// Client is the hook.
type Client struct {
	URL     string
	Timeout time.Duration
	Target  *webhook.Target
}

// New returns the hook the settings describe, or nil when HOOK_URL is unset.
func New(s Settings) *Client {
	if s.URL == "" {
		return nil
	}
	return &Client{URL: s.URL, Timeout: s.Timeout, Target: &webhook.Target{Secret: []byte(s.Secret)}}
}

// Create implements Hook.
func (c *Client) Create(ctx context.Context, ev *CreateEvent) (*Decision, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	a, err := c.Target.Post(ctx, c.URL, body, c.Timeout)
	if err != nil {
		return nil, err
	}
	if a.Status < 200 || a.Status >= 300 {
		return nil, fmt.Errorf("hook: answered %d", a.Status)
	}
	var d Decision
	if err := strictjson.UnmarshalAllowUnknown(a.Body, &d); err != nil {
		return nil, fmt.Errorf("hook: malformed answer: %w", err)
	}
	return &d, nil
}
