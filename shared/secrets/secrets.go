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

// Readers are the store clients, by store name (AWSSecretsManager...).
type Readers map[string]Reader

// Secret is one setting read from a store, cached for TTL. It keeps the value it replaced
// too, so what was signed with it before a rotation still verifies (a verify-only key).
// It is safe for concurrent use; concurrent callers past the TTL share one read.
type Secret struct {
	Setting string // the setting it stands for, UPLOAD_TOKEN_SECRET, in errors
	Ref     Ref
	Reader  Reader
	TTL     time.Duration // DefaultTTL when 0
	Now     func() time.Time

	mu       sync.Mutex
	current  string
	previous string
	read     time.Time
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != "" && now().Before(s.read.Add(ttl)) {
		return s.current, s.previous, nil
	}
	v, err := s.fetch(ctx)
	if err != nil {
		return "", "", err
	}
	if v != s.current {
		if s.current != "" {
			s.previous = s.current
		}
		s.current = v
	}
	s.read = now()
	return s.current, s.previous, nil
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
