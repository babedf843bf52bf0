// Package upload is directup's core: it checks upload requests against the deployer's
// policy, plans parts within COS's limits, issues stateless upload tokens, and drives a
// Store (COS, S3, a local store) to initiate, presign, list, complete and abort multipart
// uploads. It knows nothing of HTTP routing, SCF or Lambda.
package upload

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
)

// Service runs uploads for one bucket under one policy.
type Service struct {
	store  Store
	policy Policy
	tokens *Tokens
	// writeKey seals the WriteMetadata values of API uploads (derived from the token secret).
	writeKey []byte
	hook     Hook   // nil: no pre-create hook
	events   Events // nil: outcomes are not told
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
func NewService(store Store, policy Policy, tokenSecret []byte, opts ...Option) (*Service, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if len(tokenSecret) < 16 {
		return nil, errors.New("UPLOAD_TOKEN_SECRET: must be at least 16 bytes (32 random bytes recommended)")
	}
	if store == nil {
		return nil, errors.New("upload: a store is required")
	}
	if err := store.Capabilities().check(&policy); err != nil {
		return nil, err
	}
	s := &Service{store: store, policy: policy, tokens: NewTokens(tokenSecret), writeKey: deriveKey(tokenSecret, "directup write v1"),
		now: time.Now, random: defaultRandom, log: slog.Default()}
	if rs, ok := store.(records.Store); ok {
		s.records = records.New(rs, policy.KeyPrefix, tokenSecret)
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
func (s *Service) Policy() Policy { return s.policy }

// Initiated is the answer to an initiate request.
type Initiated struct {
	Bucket         string    `json:"bucket"`
	Key            string    `json:"key"`
	UploadID       string    `json:"uploadId"`
	Size           int64     `json:"size"`
	PartSize       int64     `json:"partSize"`
	PartCount      int       `json:"partCount"`
	Token          string    `json:"token"`
	ExpiresAt      time.Time `json:"expiresAt"`      // when these part URLs stop working
	TokenExpiresAt time.Time `json:"tokenExpiresAt"` // when follow-up calls stop being accepted
	// PartBatch is how many part URLs one request may ask for (UPLOAD_PART_BATCH).
	PartBatch int             `json:"partBatch,omitempty"`
	Parts     []PresignedPart `json:"parts"`
	// CompactParts: every part's URL in the compact form, for InitiateAll (Parts is then
	// empty, unless the store's URLs share no template).
	CompactParts *CompactParts `json:"compactParts,omitempty"`
}

// PartURLs is the answer to a request for more part URLs.
type PartURLs struct {
	ExpiresAt    time.Time       `json:"expiresAt"`
	Parts        []PresignedPart `json:"parts"`
	CompactParts *CompactParts   `json:"compactParts,omitempty"` // from PresignAll, as in Initiated
}

// Initiate checks req, starts a multipart upload and presigns the first batch of parts.
func (s *Service) Initiate(ctx context.Context, req *InitiateRequest) (*Initiated, error) {
	return s.initiate(ctx, req, initiateFirstBatch)
}

// InitiateAll is Initiate with the URLs of every part of the plan (up to 10,000), for
// clients that take them in the compact form.
func (s *Service) InitiateAll(ctx context.Context, req *InitiateRequest) (*Initiated, error) {
	return s.initiate(ctx, req, initiateAllURLs)
}

// InitiatePlanned is Initiate without part URLs, for clients that ask for each part's
// URL when they send it (Uppy): the plan and its pinned sizes are the same.
func (s *Service) InitiatePlanned(ctx context.Context, req *InitiateRequest) (*Initiated, error) {
	return s.initiate(ctx, req, initiateNoURLs)
}

// InitiateOpen starts an upload whose size the client does not declare. Part URLs then
// cannot pin sizes: the policy's MaxSize is enforced only at complete, and until then the
// upload's parts can hold more. Only a deployer's explicit setting reaches this.
func (s *Service) InitiateOpen(ctx context.Context, filename, contentType string) (*Initiated, error) {
	ceiling := s.policy.MaxSize
	return s.initiate(ctx, &InitiateRequest{Filename: filename, ContentType: contentType, Size: &ceiling}, initiateOpen)
}

type initiateMode int

const (
	initiateFirstBatch initiateMode = iota // pinned plan, first batch of URLs
	initiateAllURLs                        // pinned plan, every part's URL
	initiateNoURLs                         // pinned plan, URLs asked for later
	initiateOpen                           // no plan: sizes not pinned
)

func (s *Service) initiate(ctx context.Context, req *InitiateRequest, mode initiateMode) (*Initiated, error) {
	subject := Caller(ctx)
	obj, plan, err := s.policy.objectFor(req, func(filename string) (string, error) {
		return generateKey(s.random, s.policy.KeyTemplate, s.policy.KeyPrefix, subject, filename, s.now())
	}, s.store.Capabilities())
	if err != nil {
		return nil, err
	}
	if s.hook != nil {
		if err := s.askHook(ctx, req, obj, plan, mode == initiateOpen); err != nil {
			return nil, err
		}
	}
	write, err := s.newWrite(obj.Key, plan.Size, mode == initiateOpen, obj.ContentType)
	if err != nil {
		return nil, err
	}
	obj.Metadata = maps.Clone(obj.Metadata)
	if obj.Metadata == nil {
		obj.Metadata = map[string]string{}
	}
	obj.Metadata[WriteMetadata] = write
	uploadID, err := s.store.Initiate(ctx, obj)
	if err != nil {
		return nil, err
	}
	claims := Claims{
		Bucket: s.store.Bucket(), Key: obj.Key, UploadID: uploadID, Size: plan.Size, PartSize: plan.PartSize,
		Issued: s.now().Unix(), Expires: s.now().Add(s.policy.TokenTTL).Unix(), Subject: subject, ForbidOverwrite: obj.ForbidOverwrite,
		ContentType: obj.ContentType, Write: write[:writeIDLen], // the seal stays secret: see newWrite
	}
	if obj.Encryption != nil {
		claims.CustomerKeyMD5 = obj.Encryption.CustomerKeyMD5
	}
	switch mode {
	case initiateOpen:
		claims.Open, claims.PartSize = true, 0
		return &Initiated{
			Bucket: claims.Bucket, Key: obj.Key, UploadID: uploadID, Size: claims.Size, PartCount: MaxParts,
			Token: s.tokens.Sign(claims), TokenExpiresAt: time.Unix(claims.Expires, 0).UTC(), Parts: []PresignedPart{},
		}, nil
	case initiateNoURLs:
		return &Initiated{
			Bucket: claims.Bucket, Key: obj.Key, UploadID: uploadID, Size: plan.Size, PartSize: plan.PartSize,
			PartCount: plan.PartCount, Token: s.tokens.Sign(claims), TokenExpiresAt: time.Unix(claims.Expires, 0).UTC(),
			PartBatch: s.policy.PartBatch, Parts: []PresignedPart{},
		}, nil
	}
	batch := s.policy.PartBatch
	if mode == initiateAllURLs {
		batch = MaxParts
	}
	first := make([]int, min(plan.PartCount, batch))
	for i := range first {
		first[i] = i + 1
	}
	customerKey := ""
	if obj.Encryption != nil {
		customerKey = obj.Encryption.CustomerKey
	}
	urls, err := s.presign(ctx, &claims, plan, first, customerKey, mode == initiateAllURLs)
	if err != nil {
		// The caller will never learn this UploadId: abort it rather than leave an orphan.
		s.abortQuietly(ctx, obj.Key, uploadID)
		return nil, err
	}
	return &Initiated{
		Bucket: claims.Bucket, Key: obj.Key, UploadID: uploadID, Size: plan.Size, PartSize: plan.PartSize,
		PartCount: plan.PartCount, Token: s.tokens.Sign(claims), ExpiresAt: urls.ExpiresAt,
		TokenExpiresAt: time.Unix(claims.Expires, 0).UTC(), PartBatch: s.policy.PartBatch, Parts: urls.Parts,
		CompactParts: urls.CompactParts,
	}, nil
}

func (s *Service) abortQuietly(ctx context.Context, key, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.store.Abort(ctx, key, uploadID)
}

// presign presigns the numbered parts; compact answers them in the compact form, or, where
// a store's URLs share no template, the first batch of them in full (all of them could
// pass the platforms' 6 MB answer limit; the client asks for the rest).
func (s *Service) presign(ctx context.Context, c *Claims, plan Plan, numbers []int, customerKey string, compact bool) (*PartURLs, error) {
	specs := make([]PartSpec, len(numbers))
	for i, n := range numbers {
		specs[i] = PartSpec{Number: n}
		if !c.Open { // an open upload's sizes are neither signed nor reported
			specs[i].Size = plan.SizeOf(n)
		}
	}
	ttl := s.policy.URLTTL
	if left := time.Unix(c.Expires, 0).Sub(s.now()); left < ttl {
		ttl = left // a part URL never outlives the upload's token
	}
	p, err := s.store.Presign(ctx, &PresignRequest{
		Key: c.Key, UploadID: c.UploadID, Parts: specs, TTL: ttl, CustomerKeyMD5: c.CustomerKeyMD5, CustomerKey: customerKey, Unpinned: c.Open,
		Compact: compact,
	})
	if err != nil {
		return nil, err
	}
	out := &PartURLs{ExpiresAt: p.Expires.UTC(), Parts: p.Parts}
	switch {
	case p.Compact != nil:
		out.Parts, out.CompactParts = []PresignedPart{}, p.Compact
	case compact:
		if cp, ok := Compact(p.Parts); ok {
			out.Parts, out.CompactParts = []PresignedPart{}, cp
		} else {
			out.Parts = out.Parts[:min(len(out.Parts), s.policy.PartBatch)]
		}
	}
	return out, nil
}

// claims verifies a follow-up call's token, that it belongs to uploadID, and that the
// caller is the one who started the upload: a token alone is not enough.
func (s *Service) claims(ctx context.Context, token, uploadID string) (*Claims, error) {
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
func (s *Service) Upload(ctx context.Context, token string) (*Claims, error) {
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

// PresignAll is PresignParts for clients that take URLs in the compact form: up to every
// part of the plan at once (no numbers: all of them).
func (s *Service) PresignAll(ctx context.Context, token, uploadID string, numbers []int, customerKey string) (*PartURLs, error) {
	return s.presignParts(ctx, token, uploadID, numbers, customerKey, true)
}

// PresignParts returns fresh URLs for the given parts of an upload. customerKey is the
// upload's SSE-C key, for stores that sign it into part URLs (S3); it must be the key the
// upload was started with, and is otherwise optional.
func (s *Service) PresignParts(ctx context.Context, token, uploadID string, numbers []int, customerKey string) (*PartURLs, error) {
	return s.presignParts(ctx, token, uploadID, numbers, customerKey, false)
}

// presignParts presigns the listed parts, at most a batch of them; all lifts the batch
// limit to the plan, and no numbers then mean every part.
func (s *Service) presignParts(ctx context.Context, token, uploadID string, numbers []int, customerKey string, all bool) (*PartURLs, error) {
	c, err := s.claims(ctx, token, uploadID)
	if err != nil {
		return nil, err
	}
	if customerKey != "" {
		key, err := base64.StdEncoding.DecodeString(customerKey)
		sum := md5.Sum(key)
		if err != nil || c.CustomerKeyMD5 == "" || base64.StdEncoding.EncodeToString(sum[:]) != c.CustomerKeyMD5 {
			return nil, errcode.Invalid("customerKey", "customerKey is not the SSE-C key this upload was started with")
		}
	}
	plan, limit := c.Plan(), s.policy.PartBatch
	if all {
		limit = MaxParts
		if len(numbers) == 0 {
			numbers = make([]int, plan.PartCount)
			for i := range numbers {
				numbers[i] = i + 1
			}
			return s.presign(ctx, c, plan, numbers, customerKey, true)
		}
	}
	if len(numbers) == 0 {
		return nil, errcode.Missing("partNumbers")
	}
	if len(numbers) > limit {
		return nil, errcode.Invalid("partNumbers", "ask for at most %d parts at a time", limit)
	}
	seen := make(map[int]bool, len(numbers))
	for _, n := range numbers {
		if n < 1 || n > plan.PartCount {
			return nil, errcode.Invalid("partNumbers", "part %d is outside this upload's plan of %d parts", n, plan.PartCount)
		}
		if seen[n] {
			return nil, errcode.Invalid("partNumbers", "part %d is listed twice", n)
		}
		seen[n] = true
	}
	return s.presign(ctx, c, plan, numbers, customerKey, all)
}

// ListParts returns the parts already stored, so a client can resume.
func (s *Service) ListParts(ctx context.Context, token, uploadID string) ([]StoredPart, error) {
	c, err := s.claims(ctx, token, uploadID)
	if err != nil {
		return nil, err
	}
	return s.store.ListParts(ctx, c.Key, c.UploadID)
}

// Complete assembles the object. Every part of the plan must be named; the stored parts
// are checked against the plan's sizes first, so the object is exactly what was declared.
func (s *Service) Complete(ctx context.Context, token, uploadID string, parts []CompletedPart) (*Completed, error) {
	c, err := s.claims(ctx, token, uploadID)
	if err != nil {
		return nil, err
	}
	plan := c.Plan()
	if len(parts) == 0 {
		return nil, errcode.Missing("parts")
	}
	if len(parts) > MaxParts {
		return nil, errcode.Invalid("parts", "at most %d parts", MaxParts)
	}
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b CompletedPart) int { return a.PartNumber - b.PartNumber })
	for i, p := range parts {
		field := "parts[" + strconv.Itoa(i) + "]"
		if p.PartNumber < 1 || p.PartNumber > plan.PartCount {
			return nil, errcode.Invalid(field+".partNumber", "part %d is outside this upload's plan of %d parts", p.PartNumber, plan.PartCount)
		}
		if i > 0 && parts[i-1].PartNumber == p.PartNumber {
			return nil, errcode.Invalid(field+".partNumber", "part %d is listed twice", p.PartNumber)
		}
		etag := strings.Trim(p.ETag, `"`)
		if etag == "" || len(etag) > 128 || strings.ContainsAny(etag, "\"<>&\r\n") {
			return nil, errcode.Invalid(field+".etag", "etag must be the ETag header the part upload answered")
		}
		parts[i].ETag = `"` + etag + `"`
	}
	if !c.Open && len(parts) != plan.PartCount {
		return nil, &errcode.Error{Code: errcode.IncompleteUpload, Field: "parts",
			Message: "name all " + strconv.Itoa(plan.PartCount) + " parts of the plan; " + strconv.Itoa(len(parts)) + " were given"}
	}

	stored, err := s.store.ListParts(ctx, c.Key, c.UploadID)
	if err != nil {
		return nil, s.completeFailed(ctx, c, err)
	}
	var total int64
	have := make(map[int]StoredPart, len(stored))
	for _, p := range stored {
		have[p.PartNumber] = p
		total += p.Size
	}
	if total > plan.Size {
		// More was stored than declared (or, for open uploads, than the policy allows):
		// nothing from this upload may become an object.
		s.abortQuietly(ctx, c.Key, c.UploadID)
		s.publish(ctx, &Event{Type: EventRejected, Bucket: c.Bucket, Key: c.Key, UploadID: c.UploadID, Size: total,
			ContentType: c.ContentType, Reason: "the stored parts exceed the declared size or the policy's limit; the upload was aborted"})
		if c.Open {
			return nil, &errcode.Error{Code: errcode.SizeTooLarge, Field: "parts",
				Message: "the stored parts exceed this deployment's limit of " + strconv.FormatInt(plan.Size, 10) + " bytes; the upload was aborted"}
		}
		return nil, &errcode.Error{Code: errcode.InvalidPart, Field: "parts",
			Message: "the stored parts exceed the declared size; the upload was aborted"}
	}
	for i, p := range parts {
		sp, ok := have[p.PartNumber]
		field := "parts[" + strconv.Itoa(i) + "]"
		switch {
		case !ok:
			return nil, &errcode.Error{Code: errcode.IncompleteUpload, Field: field,
				Message: "part " + strconv.Itoa(p.PartNumber) + " has not been uploaded"}
		case !c.Open && sp.Size != plan.SizeOf(p.PartNumber):
			return nil, &errcode.Error{Code: errcode.InvalidPart, Field: field,
				Message: "part " + strconv.Itoa(p.PartNumber) + " does not have the planned size"}
		case strings.Trim(sp.ETag, `"`) != strings.Trim(p.ETag, `"`):
			return nil, &errcode.Error{Code: errcode.InvalidPart, Field: field + ".etag",
				Message: "part " + strconv.Itoa(p.PartNumber) + " was stored with another ETag; upload it again or send its current ETag"}
		}
	}
	done, err := s.store.Complete(ctx, c.Key, c.UploadID, parts, CompleteOptions{ForbidOverwrite: c.ForbidOverwrite})
	if err != nil {
		return nil, s.completeFailed(ctx, c, err)
	}
	done.Size = 0
	for _, p := range parts {
		done.Size += have[p.PartNumber].Size
	}
	detected, err := s.verifyContent(ctx, c, done)
	if err != nil {
		return nil, err
	}
	if s.events != nil {
		ev := &Event{Type: EventCompleted, Bucket: done.Bucket, Key: done.Key, UploadID: c.UploadID, Size: done.Size,
			ETag: done.ETag, CRC64: done.CRC64, ContentType: c.ContentType, DetectedType: detected}
		modified := time.Time{}
		if info, err := s.store.Stat(ctx, c.Key); err == nil && info.Exists {
			ev.Metadata, ev.ContentType, modified = userMetadata(info.Metadata), info.ContentType, info.LastModified
		}
		identify(ev, c.Write, "", modified)
		s.publish(ctx, ev)
	}
	return done, nil
}

// completeFailed is err, unless the upload is gone because an earlier complete stored its
// object, rejected it and could not remove it then: that removal is finished now, and the
// answer is the rejection again.
func (s *Service) completeFailed(ctx context.Context, c *Claims, err error) error {
	if errcode.As(err).Code != errcode.UploadNotFound {
		return err
	}
	handled, ferr := s.finishRejection(ctx, c)
	switch {
	case !handled:
		return err
	case ferr != nil:
		return ferr
	}
	return &errcode.Error{Code: errcode.ContentMismatch, Field: "contentType",
		Message: "this upload's object contradicted its declared type; it was deleted"}
}

// Abort discards an upload. Aborting an upload that is already gone (aborted, expired)
// succeeds; one that was completed is refused with upload_completed, so a client that
// cancelled is never told nothing was stored when an object was.
func (s *Service) Abort(ctx context.Context, token, uploadID string) error {
	c, err := s.claims(ctx, token, uploadID)
	if err != nil {
		return err
	}
	err = s.store.Abort(ctx, c.Key, c.UploadID)
	if err == nil {
		s.publish(ctx, &Event{Type: EventAborted, Bucket: c.Bucket, Key: c.Key, UploadID: c.UploadID, ContentType: c.ContentType})
		return nil
	}
	if e := errcode.As(err); e.Code != errcode.UploadNotFound {
		return err
	}
	if handled, err := s.finishRejection(ctx, c); handled {
		return err // the object was rejected: nothing is stored once it is removed
	}
	info, err := s.store.Stat(ctx, c.Key)
	if err != nil {
		return err
	}
	// An object older than the upload was there before it (forbidOverwrite kept it, or
	// the upload never completed): the upload itself is simply gone.
	if info.Exists && (c.Issued == 0 || !info.LastModified.Before(time.Unix(c.Issued, 0).Add(-time.Second))) {
		return &errcode.Error{Code: errcode.UploadCompleted,
			Message: "the upload was completed: the object " + c.Key + " is stored; delete it to undo"}
	}
	return nil
}
