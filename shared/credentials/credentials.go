// Package credentials provides the temporary keys that sign storage requests: the
// function's role credentials from its environment (read on every call, since warm
// instances receive fresh values), static keys, and STS AssumeRole with a cache.
package credentials

import (
	"context"
	"errors"
	"os"
	"time"
)

// Value is one set of keys. Expires is zero when the provider does not know it.
type Value struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expires         time.Time
}

// Provider returns credentials valid now.
type Provider interface {
	Retrieve(ctx context.Context) (Value, error)
}

// Invalidator is a provider that caches credentials and can drop them, so the next
// Retrieve fetches fresh ones (after storage called them expired early).
type Invalidator interface {
	Invalidate()
}

// ErrMissing means the environment holds no credentials.
var ErrMissing = errors.New("credentials: none in the environment")

// Env reads credentials from environment variables on every call.
type Env struct {
	IDVar, KeyVar, TokenVar string
	Getenv                  func(string) string // os.Getenv when nil
}

// SCFRole reads the credentials SCF gives a function with an execution role.
func SCFRole() *Env {
	return &Env{IDVar: "TENCENTCLOUD_SECRETID", KeyVar: "TENCENTCLOUD_SECRETKEY", TokenVar: "TENCENTCLOUD_SESSIONTOKEN"}
}

// Retrieve implements Provider.
func (e *Env) Retrieve(context.Context) (Value, error) {
	get := e.Getenv
	if get == nil {
		get = os.Getenv
	}
	v := Value{AccessKeyID: get(e.IDVar), SecretAccessKey: get(e.KeyVar)}
	if e.TokenVar != "" {
		v.SessionToken = get(e.TokenVar)
	}
	if v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return Value{}, errors.Join(ErrMissing, errors.New("set "+e.IDVar+" and "+e.KeyVar))
	}
	return v, nil
}

// Static always returns the same credentials (local mode, tests).
type Static Value

// Retrieve implements Provider.
func (s Static) Retrieve(context.Context) (Value, error) { return Value(s), nil }
