// Package upload is directup's use cases: the Service holds a request to the policy
// (shared/policy), plans it and signs its token (shared/uploadplan), asks the hook, and
// drives a store (shared/storage) to initiate, presign, list, complete and abort multipart
// uploads; it verifies what was stored, seals each write, tells events, issues temporary
// keys and checks objects storage reports created. One file per use case. It speaks
// errcode codes and knows nothing of HTTP routing, SCF or Lambda.
package upload

import (
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"

	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
)

// Service runs uploads for one bucket under one policy.
type Service struct {
	store storage.Store
	caps  storage.Capabilities // the store's, read once
	// objects reads and deletes whole objects: the store's, or noObjects.
	objects storage.Objects
	policy  policy.Policy
	tokens  *uploadplan.Tokens
	// writeKey seals the WriteMetadata values of API uploads (derived from the token secret).
	writeKey []byte
	hook     hook.Hook   // nil: no pre-create hook
	events   events.Sink // nil: outcomes are not told
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

// WithLog sets where the service logs what it refuses to act on (a forged record).
func WithLog(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService checks the policy and returns a service.
func NewService(store storage.Store, pol policy.Policy, tokenSecret []byte, opts ...Option) (*Service, error) {
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if len(tokenSecret) < 16 {
		return nil, errors.New("UPLOAD_TOKEN_SECRET: must be at least 16 bytes (32 random bytes recommended)")
	}
	if store == nil {
		return nil, errors.New("upload: a store is required")
	}
	caps := store.Capabilities()
	if err := pol.Fits(caps); err != nil {
		return nil, err
	}
	s := &Service{store: store, caps: caps, policy: pol, tokens: uploadplan.NewTokens(tokenSecret), writeKey: deriveKey(tokenSecret, "directup write v1"),
		now: time.Now, random: policy.DefaultRandom, log: slog.Default()}
	if o, ok := store.(storage.Objects); ok {
		s.objects = o
	} else if pol.VerifyContent {
		return nil, errors.New("UPLOAD_VERIFY_CONTENT: this store cannot read objects back; set UPLOAD_VERIFY_CONTENT=false")
	} else {
		s.objects = noObjects{}
	}
	if rs, ok := store.(records.Store); ok {
		s.records = records.New(rs, pol.KeyPrefix, tokenSecret)
	}
	for _, o := range opts {
		o(s)
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
	return c, nil
}

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

// noObjects stands in for a store without storage.Objects: no object is known (a gone
// upload is told as gone, never as completed), and nothing can be read or deleted.
type noObjects struct{}

func (noObjects) Stat(context.Context, string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, nil
}

func (noObjects) ReadHead(context.Context, string, int) ([]byte, error) {
	return nil, &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot read objects back"}
}

func (noObjects) Delete(context.Context, string) error {
	return &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot delete objects"}
}
