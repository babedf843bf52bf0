package upload

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

// PartURLs is the answer to a request for more part URLs.
type PartURLs struct {
	ExpiresAt    time.Time            `json:"expiresAt"`
	Parts        []wire.PresignedPart `json:"parts"`
	CompactParts *wire.CompactParts   `json:"compactParts,omitempty"` // from PresignAll, as in Initiated
}

// presign presigns the numbered parts; compact answers them in the compact form, or, where
// a store's URLs share no template, the first batch of them in full (all of them could
// pass the platforms' 6 MB answer limit; the client asks for the rest).
func (s *Service) presign(ctx context.Context, c *uploadplan.Claims, plan uploadplan.Plan, numbers []int, customerKey string, compact bool) (*PartURLs, error) {
	specs := make([]wire.PartSpec, len(numbers))
	for i, n := range numbers {
		specs[i] = wire.PartSpec{Number: n}
		if !c.Open { // an open upload's sizes are neither signed nor reported
			specs[i].Size = plan.SizeOf(n)
		}
	}
	ttl := s.rulesOf(c).URLTTL
	if left := time.Unix(c.Expires, 0).Sub(s.now()); left < ttl {
		ttl = left // a part URL never outlives the upload's token
	}
	p, err := s.store.Presign(ctx, &storage.PresignRequest{
		Key: c.Key, UploadID: c.UploadID, Parts: specs, TTL: ttl, CustomerKeyMD5: c.CustomerKeyMD5, CustomerKey: customerKey, Unpinned: c.Open,
		Compact: compact,
	})
	if err != nil {
		return nil, err
	}
	out := &PartURLs{ExpiresAt: p.Expires.UTC(), Parts: p.Parts}
	switch {
	case p.Compact != nil:
		out.Parts, out.CompactParts = []wire.PresignedPart{}, p.Compact
	case compact:
		if cp, ok := wire.Compact(p.Parts); ok {
			out.Parts, out.CompactParts = []wire.PresignedPart{}, cp
		} else {
			out.Parts = out.Parts[:min(len(out.Parts), s.policy.PartBatch)]
		}
	}
	return out, nil
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
		limit = s.caps.MaxParts
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
func (s *Service) ListParts(ctx context.Context, token, uploadID string) ([]wire.StoredPart, error) {
	c, err := s.claims(ctx, token, uploadID)
	if err != nil {
		return nil, err
	}
	return s.store.ListParts(ctx, c.Key, c.UploadID)
}
