// Package events tells the deployer's application every upload outcome (events.Sink over
// HTTP): each event is POSTed to EVENTS_URL, signed like every webhook here, retried with
// backoff, and — when it finally cannot be delivered — written to the log as one JSON line
// holding the whole event, never silently dropped. The reliable path is the
// storage-triggered function (functions/events), which the platform itself retries.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/directup/directup/shared/webhook"
)

// Settings are the events' environment variables.
type Settings struct {
	URL    string `envconfig:"EVENTS_URL"`
	Secret string `envconfig:"EVENTS_SECRET"`
	// SecretFrom names a secret store's entry holding it instead (shared/secrets).
	SecretFrom string `envconfig:"EVENTS_SECRET_FROM"`
}

// Validate checks the settings; errors name the variable.
func (s Settings) Validate() error {
	if s.URL == "" {
		return nil
	}
	if err := (&webhook.Target{}).Check(s.URL); err != nil {
		return fmt.Errorf("EVENTS_URL: %w", err)
	}
	if len(s.Secret) < 16 && s.SecretFrom == "" {
		return errors.New("EVENTS_SECRET (or EVENTS_SECRET_FROM): required with EVENTS_URL, at least 16 characters")
	}
	return nil
}

// Publisher delivers events.
type Publisher struct {
	URL      string
	Target   *webhook.Target
	Attempts int           // default 3
	Timeout  time.Duration // per attempt, default 5 s
	Log      *slog.Logger
}

// New returns the publisher the settings describe, or nil when EVENTS_URL is unset.
func New(s Settings, log *slog.Logger) *Publisher {
	if s.URL == "" {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{URL: s.URL, Target: &webhook.Target{Secret: []byte(s.Secret)}, Log: log}
}

// Publish implements Sink: it posts ev until the receiver answers 2xx, and logs
// it whole (and returns the error) when that fails.
func (p *Publisher) Publish(ctx context.Context, ev *Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	err = p.Target.Deliver(ctx, p.URL, body, p.Attempts, timeout)
	if err != nil {
		p.Log.Error("event undelivered", "event", json.RawMessage(body), "error", err.Error())
	}
	return err
}
