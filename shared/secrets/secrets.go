// Package secrets reads secret settings from secret stores instead of the function's
// configuration: a setting NAME may be given as NAME_FROM=<reference>, read with the
// function's own role credentials on first use and cached for a TTL, so a rotation in the
// store takes effect without a redeploy. Errors name the setting and the reference, never
// the value.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/directup/directup/shared/credentials"
)

// The stores a reference may name.
const (
	AWSSecretsManager = "aws-secretsmanager" // Secrets Manager GetSecretValue (AWSCURRENT)
	AWSSSM            = "aws-ssm"            // Parameter Store GetParameter, decrypted
	TencentSSM        = "tencent-ssm"        // Tencent SSM GetSecretValue (SSM_Current)
)

// DefaultTTL is how long a value read is used before the store is asked again.
const DefaultTTL = 5 * time.Minute

// Ref is a parsed reference: "<store>:<name>[#<json key>]".
type Ref struct {
	Store string
	Name  string
	Key   string // a field of a JSON object secret; "" for the whole value
}

// String is the reference as written (it names where the secret is, never its value).
func (r Ref) String() string {
	s := r.Store + ":" + r.Name
	if r.Key != "" {
		s += "#" + r.Key
	}
	return s
}

// Parse reads a reference; the error says what a reference looks like.
func Parse(s string) (Ref, error) {
	store, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Ref{}, errors.New("must be <store>:<name>[#<json key>], store one of " + AWSSecretsManager + ", " + AWSSSM + ", " + TencentSSM)
	}
	switch store {
	case AWSSecretsManager, AWSSSM, TencentSSM:
	default:
		return Ref{}, fmt.Errorf("unknown store %q: use %s, %s or %s", store, AWSSecretsManager, AWSSSM, TencentSSM)
	}
	name, key, hasKey := strings.Cut(rest, "#")
	if name == "" || (hasKey && key == "") {
		return Ref{}, errors.New("must be <store>:<name>[#<json key>] with a name (and a key after #)")
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return Ref{}, errors.New("the name holds white space")
	}
	return Ref{Store: store, Name: name, Key: key}, nil
}

// Reader reads the current value of a named secret from one store. Its errors must not
// hold the value (the SDKs' do not: they carry the service's code and message).
type Reader interface {
	Read(ctx context.Context, name string) (string, error)
}

// Historian is a Reader that also tells a secret's value before the current one and when
// the current one became current (zero when it does not know), so an instance started after
// a rotation verifies what was signed before it for the same window a warm one does. found
// is false when the secret has no earlier value.
type Historian interface {
	Previous(ctx context.Context, name string) (value string, since time.Time, found bool, err error)
}

// DefaultGrace is how long the value a rotation replaced still verifies.
const DefaultGrace = 24 * time.Hour

// readTimeout bounds one read of a store, whatever the caller's deadline: a store that
// hangs makes requests fail (503), not wait.
var readTimeout = 5 * time.Second

// Readers are the store clients, by store name (AWSSecretsManager...).
type Readers map[string]Reader

// Secret is one setting read from a store, cached for TTL. It keeps the value it replaced
// too, for Grace after the rotation, so what was signed with it before still verifies (a
// verify-only key) and a leaked value stops verifying once that window ends. A value
// shorter than Min is refused, never kept. It is safe for concurrent use; concurrent
// callers past the TTL share one read.
type Secret struct {
	Setting string // the setting it stands for, UPLOAD_TOKEN_SECRET, in errors
	Ref     Ref
	Reader  Reader
	TTL     time.Duration // DefaultTTL when 0
	Grace   time.Duration // DefaultGrace when 0
	Min     int           // the setting's shortest value
	Now     func() time.Time

	mu        sync.Mutex
	current   string
	previous  string
	prevUntil time.Time // previous verifies until then
	read      time.Time
	failErr   error     // the last read's failure, shared for readTimeout
	failed    time.Time // when it failed
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Value returns the current value and the one before the last change ("" when none),
// reading the store when the TTL has passed. A failed read is an error naming the setting
// and the reference; the cached value is not served past its TTL (a revoked secret stops
// being used), and the next call asks again.
func (s *Secret) Value(ctx context.Context) (current, previous string, err error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	grace := s.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == "" || !now().Before(s.read.Add(ttl)) {
		if s.failErr != nil && now().Before(s.failed.Add(readTimeout)) {
			// Callers queued behind a read that just failed share its error rather than
			// each waiting for a read of their own.
			return "", "", s.failErr
		}
		ctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		v, err := s.fetch(ctx)
		if err != nil {
			s.failErr, s.failed = err, now()
			return "", "", err
		}
		s.failErr = nil
		switch {
		case s.current == "":
			s.learnPrevious(ctx, v, now(), grace) // a cold start: what the store kept before
		case v != s.current:
			// The rotation happened after the last read that still saw the old value: its
			// window is counted from that read, never from when an idle instance noticed.
			s.previous, s.prevUntil = s.current, s.read.Add(grace)
		}
		s.current, s.read = v, now()
	}
	if s.previous != "" && !now().Before(s.prevUntil) {
		s.previous = "" // the rotation's window ended: the old value no longer verifies
	}
	return s.current, s.previous, nil
}

// learnPrevious asks a Historian for the value before current, kept for grace after the
// store says current became current. Best effort: without it, what was signed before the
// rotation is refused on this instance.
func (s *Secret) learnPrevious(ctx context.Context, current string, now time.Time, grace time.Duration) {
	h, ok := s.Reader.(Historian)
	if !ok {
		return
	}
	v, since, found, err := h.Previous(ctx, s.Ref.Name)
	since = minTime(since, now) // a rotation time ahead of the clock would stretch the window
	if err != nil || !found || since.IsZero() || !now.Before(since.Add(grace)) {
		return
	}
	if v, err = s.pick(v); err == nil && v != current {
		s.previous, s.prevUntil = v, since.Add(grace)
	}
}

func (s *Secret) fetch(ctx context.Context) (string, error) {
	fail := func(why string) error {
		return fmt.Errorf("secrets: %s_FROM=%s: %s", s.Setting, s.Ref, why)
	}
	if s.Reader == nil {
		return "", fail("no client for store " + s.Ref.Store)
	}
	raw, err := s.Reader.Read(ctx, s.Ref.Name)
	if err != nil {
		return "", fail(err.Error())
	}
	v, err := s.pick(raw)
	if err != nil {
		return "", fail(err.Error())
	}
	return v, nil
}

// pick is the setting's value in what the store holds: the JSON key the reference names,
// or all of it; empty or shorter than Min is refused.
func (s *Secret) pick(raw string) (string, error) {
	fail := func(why string) error { return errors.New(why) }
	v := raw
	if s.Ref.Key != "" {
		// The decoder's own errors quote bytes of the input: they are not passed on.
		var fields map[string]any
		if json.Unmarshal([]byte(raw), &fields) != nil {
			return "", fail("the secret is not a JSON object, so #" + s.Ref.Key + " names nothing")
		}
		f, ok := fields[s.Ref.Key].(string)
		if !ok {
			return "", fail("the JSON secret has no string field " + s.Ref.Key)
		}
		v = f
	}
	if v == "" {
		return "", fail("the secret is empty")
	}
	if len(v) < s.Min {
		return "", fail("the value is shorter than " + strconv.Itoa(s.Min) + " characters")
	}
	return v, nil
}

// Set is the deployment's secrets read from stores, by setting name.
type Set struct{ secrets map[string]*Secret }

// NewSet makes a Secret for each reference (nothing is read yet).
func NewSet(refs map[string]Ref, readers Readers, ttl time.Duration) *Set {
	s := &Set{secrets: map[string]*Secret{}}
	for name, ref := range refs {
		s.secrets[name] = &Secret{Setting: name, Ref: ref, Reader: readers[ref.Store], TTL: ttl}
	}
	return s
}

// Secret is the setting's Secret, or nil when it is not read from a store (or s is nil).
func (s *Set) Secret(setting string) *Secret {
	if s == nil {
		return nil
	}
	return s.secrets[setting]
}

// Len is how many settings are read from stores.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.secrets)
}

// KeyPair is a Tencent key read from stores (TENCENTCLOUD_SECRETID_FROM and
// TENCENTCLOUD_SECRETKEY_FROM): a credentials.Provider read on use, so a rotated key is
// picked up within the TTL.
type KeyPair struct{ ID, Key *Secret }

// Retrieve implements credentials.Provider.
func (k KeyPair) Retrieve(ctx context.Context) (credentials.Value, error) {
	id, _, err := k.ID.Value(ctx)
	if err != nil {
		return credentials.Value{}, err
	}
	key, _, err := k.Key.Value(ctx)
	if err != nil {
		return credentials.Value{}, err
	}
	return credentials.Value{AccessKeyID: id, SecretAccessKey: key}, nil
}
