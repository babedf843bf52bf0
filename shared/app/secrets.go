package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/secrets"
	"github.com/directup/directup/shared/signed"
)

// fromStore is a secret setting read from a store and the ring its users read it from.
type fromStore struct {
	secret *secrets.Secret
	ring   *signed.Ring
	min    int // the value's shortest length, as for the plain setting
}

// secretMinimums are the secret settings whose users read them from a ring, with the
// shortest value each accepts (the Tencent key is read by the store's credentials).
var secretMinimums = map[string]int{"UPLOAD_TOKEN_SECRET": 32, "HOOK_SECRET": 16, "EVENTS_SECRET": 16,
	"QUEUE_CALLBACK_SECRET": 16, "AUTH_JWT_SECRET": 32}

// openSecrets makes the secrets the settings read from stores (nothing is read yet: a
// cold start makes no call to a store) and hands the store those it reads itself.
func (a *App) openSecrets(c *config.Config) {
	set := secrets.NewSet(c.SecretRefs, readers(c), c.SecretsTTL)
	if u, ok := c.Store.(interface{ UseSecrets(*secrets.Set) }); ok {
		u.UseSecrets(set)
	}
	a.fromStore = map[string]*fromStore{}
	for name, min := range secretMinimums {
		if s := set.Secret(name); s != nil {
			a.fromStore[name] = &fromStore{secret: s, ring: &signed.Ring{}, min: min}
		}
	}
}

// readers are the store clients, built on first use.
func readers(c *config.Config) secrets.Readers {
	return secrets.Readers{
		secrets.AWSSecretsManager: secrets.SecretsManager(),
		secrets.AWSSSM:            secrets.ParameterStore(),
		// SCF injects the role's keys and its region; the key must not be one read from a store.
		secrets.TencentSSM: &secrets.TencentSSMReader{Creds: credentials.SCFRole(), Region: os.Getenv("TENCENTCLOUD_REGION"),
			Endpoint: c.TencentSSMEndpoint},
	}
}

// ring is the keys of a setting read from a store, or nil when it is set plainly.
func (a *App) ring(name string) *signed.Ring {
	if f := a.fromStore[name]; f != nil {
		return f.ring
	}
	return nil
}

// current is a SecretFunc reading the ring's signing key.
func current(r *signed.Ring) func() []byte {
	return func() []byte { k, _ := r.Keys(); return k }
}

// Refresh reads the secrets from their stores where their TTL has passed (a cached read
// costs nothing) and puts them in their rings: the value read is the signing key, the
// one it replaced stays verify-only. Every entry point calls it before any work; an error
// names the setting and the reference, never a value.
func (a *App) Refresh(ctx context.Context) error {
	for name, f := range a.fromStore {
		cur, prev, err := f.secret.Value(ctx)
		if err != nil {
			return err
		}
		if len(cur) < f.min {
			return fmt.Errorf("secrets: %s_FROM=%s: the value is shorter than %d characters", name, f.secret.Ref, f.min)
		}
		f.ring.Set([]byte(cur), []byte(prev))
	}
	return nil
}

// refreshing answers 503 when a secret cannot be read, before the request is handled.
func (a *App) refreshing(next http.Handler, logger *slog.Logger) http.Handler {
	if len(a.fromStore) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.Refresh(r.Context()); err != nil {
			logger.Error("secret unavailable", "err", err.Error())
			httpapi.Error(w, r, &errcode.Error{Code: errcode.CredentialsFailed,
				Message: "a secret setting could not be read from its store; retry shortly"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
