package upload

import (
	"context"
	"maps"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

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
	PartBatch int                  `json:"partBatch,omitempty"`
	Parts     []wire.PresignedPart `json:"parts"`
	// CompactParts: every part's URL in the compact form, for InitiateAll (Parts is then
	// empty, unless the store's URLs share no template).
	CompactParts *wire.CompactParts `json:"compactParts,omitempty"`
	// Profile is the profile the upload was started under ("" the deployment's rules).
	Profile string `json:"profile,omitempty"`
	// ChecksumAlgorithm names the whole-object checksum the complete may carry (crc64ecma
	// on COS, crc64nvme on S3), and must where requireChecksum says so.
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	// ChecksumRequired: the complete must carry it.
	ChecksumRequired bool `json:"checksumRequired,omitempty"`
}

// Initiate checks req, starts a multipart upload and presigns the first batch of parts.
func (s *Service) Initiate(ctx context.Context, req *policy.InitiateRequest) (*Initiated, error) {
	return s.initiate(ctx, req, initiateFirstBatch)
}

// InitiateAll is Initiate with the URLs of every part of the plan (up to 10,000), for
// clients that take them in the compact form.
func (s *Service) InitiateAll(ctx context.Context, req *policy.InitiateRequest) (*Initiated, error) {
	return s.initiate(ctx, req, initiateAllURLs)
}

// InitiatePlanned is Initiate without part URLs, for clients that ask for each part's
// URL when they send it (Uppy): the plan and its pinned sizes are the same.
func (s *Service) InitiatePlanned(ctx context.Context, req *policy.InitiateRequest) (*Initiated, error) {
	return s.initiate(ctx, req, initiateNoURLs)
}

// InitiateOpen starts an upload whose size the client does not declare. Part URLs then
// cannot pin sizes: the policy's MaxSize is enforced only at complete, and until then the
// upload's parts can hold more. Only a deployer's explicit setting reaches this.
func (s *Service) InitiateOpen(ctx context.Context, filename, contentType, profile string) (*Initiated, error) {
	rules, err := s.rulesFor(ctx, profile)
	if err != nil {
		return nil, err
	}
	ceiling := rules.MaxSize
	return s.initiate(ctx, &policy.InitiateRequest{Filename: filename, ContentType: contentType, Size: &ceiling, Profile: profile}, initiateOpen)
}

type initiateMode int

const (
	initiateFirstBatch initiateMode = iota // pinned plan, first batch of URLs
	initiateAllURLs                        // pinned plan, every part's URL
	initiateNoURLs                         // pinned plan, URLs asked for later
	initiateOpen                           // no plan: sizes not pinned
)

func (s *Service) initiate(ctx context.Context, req *policy.InitiateRequest, mode initiateMode) (*Initiated, error) {
	subject := Caller(ctx)
	rules, err := s.rulesFor(ctx, req.Profile)
	if err != nil {
		return nil, err
	}
	uppy := mode == initiateNoURLs || mode == initiateOpen
	if uppy && rules.RequireChecksum { // Uppy's complete cannot carry one: refused now, not at its end
		return nil, &errcode.Error{Code: errcode.NotAvailable, Field: "checksum",
			Message: "these rules require a whole-object checksum, which Uppy's complete cannot send"}
	}
	obj, plan, generatedKey, err := s.objectFor(ctx, rules, req) // generatedKey: a key nobody could name before
	if err != nil {
		return nil, err
	}
	headLen, headDigest, err := checkHead(rules, req)
	if err != nil {
		return nil, err
	}
	if err := checkFingerprint(req.Fingerprint); err != nil {
		return nil, err
	}
	if s.hook != nil {
		if err := s.askHook(ctx, rules, req, obj, plan, mode == initiateOpen); err != nil {
			return nil, err
		}
	}
	if err := s.inFolder(obj.Key, req.Profile); err != nil {
		return nil, err
	}
	write, err := s.newWrite(obj.Key, plan.Size, mode == initiateOpen, obj.ContentType, req.Profile)
	if err != nil {
		return nil, err
	}
	obj.Metadata = maps.Clone(obj.Metadata)
	if obj.Metadata == nil {
		obj.Metadata = map[string]string{}
	}
	obj.Metadata[policy.WriteMetadata] = write
	// Uppy (planned without URLs, or open) sends no part checksums at complete: created
	// without the store's checksum where that is a choice, its complete needs no listing.
	obj.Checksum = !uppy
	uploadID, err := s.store.Initiate(ctx, obj)
	if err != nil {
		return nil, err
	}
	if !s.unnamed(obj.Key, generatedKey) { // named by the client or the hook, or the hook was told it
		if err := s.lockedByKeys(ctx, obj.Key); err != nil {
			s.abortQuietly(ctx, obj.Key, uploadID)
			return nil, err
		}
	}
	claims := uploadplan.Claims{
		Bucket: s.store.Bucket(), Key: obj.Key, UploadID: uploadID, Size: plan.Size, PartSize: plan.PartSize,
		Issued: s.now().Unix(), Expires: s.now().Add(rules.TokenTTL).Unix(), Subject: subject, ForbidOverwrite: obj.ForbidOverwrite,
		ContentType: obj.ContentType, Write: write[:writeIDLen], // the seal stays secret: see newWrite
		Profile: req.Profile, HeadLen: headLen, HeadDigest: headDigest,
	}
	if !s.caps.PartChecksums || obj.Checksum {
		claims.Checksum = s.caps.Checksum
	}
	if obj.Encryption != nil {
		claims.CustomerKeyMD5 = obj.Encryption.CustomerKeyMD5
	}
	if s.othersCanKey(req.Profile) {
		claims.Settings = settingsDigest(requestedText(obj))
	}
	// Recorded only once the key is known free: a record is a working token (GET /uploads
	// answers it), so none may exist for an upload that is to be refused (not at once
	// with lockedByKeys's read: one round trip more, for named keys with temporary keys on).
	if !uppy && s.keepsOpen(subject) { // Uppy resumes its own way: it never lists
		if err := s.recordOpen(ctx, &claims, req.Filename, req.Fingerprint); err != nil {
			s.abortQuietly(ctx, obj.Key, uploadID)
			return nil, err
		}
	}
	up, err := s.initiated(ctx, &claims, plan, obj, mode)
	if err != nil {
		return nil, err
	}
	up.ChecksumAlgorithm, up.ChecksumRequired = claims.Checksum, rules.RequireChecksum
	return up, nil
}

// initiated is the answer to an initiate: the token and the URLs the mode asks for.
func (s *Service) initiated(ctx context.Context, claims *uploadplan.Claims, plan uploadplan.Plan, obj *storage.Object, mode initiateMode) (*Initiated, error) {
	uploadID := claims.UploadID
	switch mode {
	case initiateOpen:
		claims.Open, claims.PartSize = true, 0
		return &Initiated{
			Bucket: claims.Bucket, Key: obj.Key, UploadID: uploadID, Size: claims.Size, PartCount: s.caps.MaxParts,
			Token: s.tokens.Sign(*claims), TokenExpiresAt: time.Unix(claims.Expires, 0).UTC(), Parts: []wire.PresignedPart{},
			Profile: claims.Profile,
		}, nil
	case initiateNoURLs:
		return &Initiated{
			Bucket: claims.Bucket, Key: obj.Key, UploadID: uploadID, Size: plan.Size, PartSize: plan.PartSize,
			PartCount: plan.PartCount, Token: s.tokens.Sign(*claims), TokenExpiresAt: time.Unix(claims.Expires, 0).UTC(),
			PartBatch: s.policy.PartBatch, Parts: []wire.PresignedPart{}, Profile: claims.Profile,
		}, nil
	}
	batch := s.policy.PartBatch
	if mode == initiateAllURLs {
		batch = s.caps.MaxParts
	}
	first := make([]int, min(plan.PartCount, batch))
	for i := range first {
		first[i] = i + 1
	}
	customerKey := ""
	if obj.Encryption != nil {
		customerKey = obj.Encryption.CustomerKey
	}
	urls, err := s.presign(ctx, claims, plan, first, customerKey, mode == initiateAllURLs)
	if err != nil {
		// The caller will never learn this UploadId: abort it rather than leave an orphan.
		s.abortQuietly(ctx, obj.Key, uploadID)
		return nil, err
	}
	return &Initiated{
		Bucket: claims.Bucket, Key: obj.Key, UploadID: uploadID, Size: plan.Size, PartSize: plan.PartSize,
		PartCount: plan.PartCount, Token: s.tokens.Sign(*claims), ExpiresAt: urls.ExpiresAt,
		TokenExpiresAt: time.Unix(claims.Expires, 0).UTC(), PartBatch: s.policy.PartBatch, Parts: urls.Parts,
		CompactParts: urls.CompactParts, Profile: claims.Profile,
	}, nil
}

func (s *Service) abortQuietly(ctx context.Context, key, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.store.Abort(ctx, key, uploadID)
}
