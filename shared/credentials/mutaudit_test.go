package credentials

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Keys that end within a minute of the exchange are refused like empty ones: a client
// signing with them would fail mid-request, and caching them would hand out dead keys.
// Kills: exchange's `!v.Expires.After(time.Now().Add(time.Minute))` dropped.
func TestMutauditWebIdentityRefusesKeysAboutToExpire(t *testing.T) {
	_, _, w := keyless(t)
	w.Duration = 30 * time.Second
	v, err := w.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "without usable keys") || v.AccessKeyID != "" {
		t.Fatalf("keys ending in 30 s: %+v %v", v, err)
	}
	if w.cached.AccessKeyID != "" {
		t.Fatal("keys about to expire were cached")
	}
}

// An answer naming a key id and a token but no secret key is refused. Kills: exchange's
// `v.SecretAccessKey == ""` dropped (only all-empty keys and a missing token were tried).
func TestMutauditWebIdentityRefusesAnAnswerWithoutASecretKey(t *testing.T) {
	_, tc, w := keyless(t)
	tc.Keys = &[3]string{"AKIDX", "", "token"}
	v, err := w.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "without usable keys") || v.AccessKeyID != "" {
		t.Fatalf("keys without a secret key: %+v %v", v, err)
	}
}
