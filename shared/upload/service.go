// Package upload is directup's use cases: the Service holds a request to the policy
// (shared/policy), plans it and signs its token (shared/uploadplan), asks the hook, and
// drives a store (shared/storage) to initiate, presign, list, complete and abort multipart
// uploads; it verifies what was stored, seals each write, tells events, issues temporary
// keys and checks objects storage reports created. One file per use case. It speaks
// errcode codes and knows nothing of HTTP routing, SCF or Lambda.
package upload

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/signed"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
)

// Service runs uploads for one bucket under one policy.
type Service struct {
	store storage.Store
	caps  storage.Capabilities // the store's, read once
	// profiles are the kinds of upload the deployment takes, by name (UPLOAD_PROFILES);
	// folders says which one owns a key.
	profiles map[string]*policy.Profile
	folders  *policy.Folders
	// objects reads and deletes whole objects: the store's, or noObjects.
	objects storage.Objects
	policy  policy.Policy
	tokens  *uploadplan.Tokens
	// writeKeys seal the WriteMetadata values of API uploads (derived from the token secret).
	writeKeys signed.Keys
	keys      signed.Keys // the token secret's (WithKeys), from which the others derive
	hook      hook.Hook   // nil: no pre-create hook
	events    events.Sink // nil: outcomes are not told
	// records keeps directup's own records in the bucket (nil: the store keeps none).
	records *records.Book
	log     *slog.Logger
	now     func() time.Time
	random  io.Reader
}

// Option adjusts a Service; tests use them to pin the clock and randomness.
type Option func(*Service)

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRandom replaces crypto/rand for key generation.
func WithRandom(r io.Reader) Option { return func(s *Service) { s.random = r } }

// WithProfiles sets the deployment's profiles (UPLOAD_PROFILES); NewService checks each
// against the store as it checks the deployment's own policy.
func WithProfiles(p map[string]*policy.Profile) Option { return func(s *Service) { s.profiles = p } }

// WithLog sets where the service logs what it refuses to act on (a forged record).
func WithLog(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithKeys makes the service sign with keys that may rotate (UPLOAD_TOKEN_SECRET_FROM)
// instead of the fixed tokenSecret: tokens, records and write seals made with the value
// before a rotation still verify.
func WithKeys(k signed.Keys) Option { return func(s *Service) { s.keys = k } }

// NewService checks the policy and returns a service.
func NewService(store storage.Store, pol policy.Policy, tokenSecret []byte, opts ...Option) (*Service, error) {
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("upload: a store is required")
	}
	caps := store.Capabilities()
	if err := pol.Fits(caps); err != nil {
		return nil, err
	}
	s := &Service{store: store, caps: caps, policy: pol, now: time.Now, random: policy.DefaultRandom, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	if s.keys == nil {
		if len(tokenSecret) < 16 {
			return nil, errors.New("UPLOAD_TOKEN_SECRET: must be at least 16 bytes (32 random bytes recommended)")
		}
		s.keys = signed.Fixed(tokenSecret)
	}
	s.tokens = uploadplan.NewTokensKeys(s.keys)
	s.writeKeys = signed.Derived(s.keys, "directup write v1")
	if o, ok := store.(storage.Objects); ok {
		s.objects = o
	} else if pol.VerifyContent {
		return nil, errors.New("UPLOAD_VERIFY_CONTENT: this store cannot read objects back; set UPLOAD_VERIFY_CONTENT=false")
	} else {
		s.objects = noObjects{}
	}
	if rs, ok := store.(records.Store); ok {
		s.records = records.NewKeys(rs, pol.KeyPrefix, s.keys)
	}
	var err error
	if s.folders, err = policy.NewFolders(s.policy, s.profiles); err != nil {
		return nil, err
	}
	for name, p := range s.profiles {
		if err := p.Rules.Fits(caps); err != nil {
			return nil, policy.ProfileError(name, err)
		}
		if p.Rules.VerifyContent {
			if _, ok := s.objects.(noObjects); ok {
				return nil, policy.ProfileError(name, errors.New("verifyContent: this store cannot read objects back"))
			}
		}
	}
	return s, nil
}

// Records is the book of directup's records in the bucket (nil when the store keeps
// none); the queue keeps its markers there too.
func (s *Service) Records() *records.Book { return s.records }

// Policy returns the policy in force.
func (s *Service) Policy() policy.Policy { return s.policy }

// claims verifies a follow-up call's token, that it belongs to uploadID, and that the
// caller is the one who started the upload: a token alone is not enough.
func (s *Service) claims(ctx context.Context, token, uploadID string) (*uploadplan.Claims, error) {
	c, err := s.tokens.Verify(token, s.now())
	if err != nil {
		return nil, err
	}
	if c.UploadID != uploadID || c.Bucket != s.store.Bucket() {
		return nil, &errcode.Error{Code: errcode.TokenMismatch, Field: "X-Upload-Token",
			Message: "the upload token belongs to another upload"}
	}
	if c.Subject != Caller(ctx) {
		return nil, &errcode.Error{Code: errcode.CallerMismatch,
			Message: "this upload was started by another caller"}
	}
	if _, ok := s.profiles[c.Profile]; c.Profile != "" && !ok {
		return nil, &errcode.Error{Code: errcode.TokenInvalid, Field: "X-Upload-Token",
			Message: "this upload's profile " + c.Profile + " is no longer configured"}
	}
	return c, nil
}

// rulesFor is the rule set of the named profile ("" the deployment's own) for the calling
// caller: an unknown profile is the request's fault, one whose claims the caller lacks is
// denied.
func (s *Service) rulesFor(ctx context.Context, profile string) (*policy.Policy, error) {
	if profile == "" {
		return &s.policy, nil
	}
	p, ok := s.profiles[profile]
	if !ok {
		return nil, errcode.Invalid("profile", "there is no profile %q here", profile)
	}
	if !p.Admits(CallerClaims(ctx)) {
		return nil, p.Refused()
	}
	return &p.Rules, nil
}

// rulesOf is the rule set an upload was started under (its token names the profile; claims
// checked it is still configured). The caller's claims were checked at its start.
func (s *Service) rulesOf(c *uploadplan.Claims) *policy.Policy { return s.rulesNamed(c.Profile) }

// rulesNamed is the named profile's rules, or the deployment's for "" or a profile no longer
// configured (a token naming one no longer configured is refused before its rules are asked for).
func (s *Service) rulesNamed(profile string) *policy.Policy {
	if p, ok := s.profiles[profile]; ok && profile != "" {
		return &p.Rules
	}
	return &s.policy
}

// CanUse reports whether the calling caller may use the named profile (nil if so): the
// error is the one an initiate naming it would get.
func (s *Service) CanUse(ctx context.Context, profile string) error {
	_, err := s.rulesFor(ctx, profile)
	return err
}

// inFolder refuses a key outside the folder of the profile the upload runs under (each
// profile owns its folder: what lies there is held to its rules, by the storage check too).
func (s *Service) inFolder(key, profile string) error {
	if owner, ok := s.folders.Owner(key); !ok || owner != profile {
		if profile == "" {
			return errcode.Denied("key", "%s lies in a profile's folder: name that profile", key)
		}
		return errcode.Denied("key", "%s lies outside the folder of profile %s", key, profile)
	}
	return nil
}

// Bucket names the bucket uploads land in.
func (s *Service) Bucket() string { return s.store.Bucket() }

// Profiles lists the configured profiles by name.
func (s *Service) Profiles() map[string]*policy.Profile { return s.profiles }

// Upload verifies an upload token for the calling caller and returns what it binds (the
// Companion protocol carries the token where its clients expect an upload id).
func (s *Service) Upload(ctx context.Context, token string) (*uploadplan.Claims, error) {
	c, err := s.tokens.Verify(token, s.now())
	if err != nil {
		return nil, err
	}
	return s.claims(ctx, token, c.UploadID)
}

type callerKey struct{}

// WithCaller records the authenticated caller's subject for the service.
func WithCaller(ctx context.Context, subject string) context.Context {
	return context.WithValue(ctx, callerKey{}, subject)
}

// Caller returns the subject WithCaller recorded ("" for anonymous callers).
func Caller(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

type claimsKey struct{}

// WithCallerClaims records what was verified about the caller (a JWT's claims, a gateway
// authorizer's context; a queue message's own), for profiles' claims rules. Only
// authentication sets it, never a request's body.
func WithCallerClaims(ctx context.Context, claims map[string][]string) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// CallerClaims returns what WithCallerClaims recorded (nil: none).
func CallerClaims(ctx context.Context) map[string][]string {
	c, _ := ctx.Value(claimsKey{}).(map[string][]string)
	return c
}

// noObjects stands in for a store without storage.Objects: no object is known (a gone
// upload is told as gone, never as completed), and nothing can be read or deleted.
type noObjects struct{}

func (noObjects) Stat(context.Context, string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, nil
}

func (noObjects) ReadHead(context.Context, string, int) ([]byte, storage.ObjectInfo, error) {
	return nil, storage.ObjectInfo{}, &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot read objects back"}
}

func (noObjects) Delete(context.Context, string) error {
	return &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot delete objects"}
}

// unnamed reports whether key is the key generated for this request (generated) and
// nobody else could have been told it: not the client nor the hook named it, and no hook
// was asked — a hook is told the key before anything about it is recorded, and may answer
// it to another request (one storing each file once, say).
func (s *Service) unnamed(key, generated string) bool {
	return key == generated && s.hook == nil
}

// objectFor holds req to rules (policy.ObjectFor) with a key generated for the caller when
// req names none; generated is that key ("" when the client named one), so a caller can
// tell a key nobody could name before from one a client or, later, the hook chose.
func (s *Service) objectFor(ctx context.Context, rules *policy.Policy, req *policy.InitiateRequest) (obj *storage.Object, plan uploadplan.Plan, generated string, err error) {
	obj, plan, err = rules.ObjectFor(req, func(filename string) (string, error) {
		generated, err = policy.GenerateKey(s.random, rules.KeyTemplate, rules.KeyPrefix, Caller(ctx), filename, s.now())
		return generated, err
	}, s.caps)
	return obj, plan, generated, err
}
