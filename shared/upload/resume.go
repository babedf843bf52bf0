package upload

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

// openRecord is what the bucket keeps of an upload in progress, in its caller's folder
// (records.Open): enough to hand the upload to the caller on another device.
type openRecord struct {
	Claims      uploadplan.Claims `json:"claims"`
	Filename    string            `json:"filename,omitempty"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	Initiated   time.Time         `json:"initiated"`
}

// OpenUpload is one of the caller's uploads in progress, with a fresh token.
type OpenUpload struct {
	UploadID    string            `json:"uploadId"`
	Key         string            `json:"key"`
	Filename    string            `json:"filename,omitempty"`
	Size        int64             `json:"size"`
	PartSize    int64             `json:"partSize"`
	PartCount   int               `json:"partCount"`
	ContentType string            `json:"contentType"`
	Profile     string            `json:"profile,omitempty"`
	Initiated   time.Time         `json:"initiated"`
	ExpiresAt   time.Time         `json:"expiresAt"` // when the upload's token ends
	Token       string            `json:"token"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	Parts       []wire.StoredPart `json:"parts"`
	// As the initiate answer names them: how many part URLs one request may ask for, and
	// the whole-object checksum the complete may (or must) carry.
	PartBatch         int    `json:"partBatch"`
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	ChecksumRequired  bool   `json:"checksumRequired,omitempty"`
}

// maxFingerprint bounds the client's fingerprint of a file.
const maxFingerprint = 128

func checkFingerprint(f string) error {
	if len(f) > maxFingerprint {
		return errcode.Invalid("fingerprint", "fingerprint holds at most %d characters", maxFingerprint)
	}
	for i := 0; i < len(f); i++ {
		if f[i] < 0x20 || f[i] > 0x7e {
			return errcode.Invalid("fingerprint", "fingerprint must be printable ASCII")
		}
	}
	return nil
}

// keepsOpen reports whether an upload of the caller is recorded for GET /uploads: an
// authenticated caller's (anonymous callers have no folder), on a store that lists records.
func (s *Service) keepsOpen(caller string) bool {
	if caller == "" || s.records == nil {
		return false
	}
	_, ok := s.store.(records.KeyLister)
	return ok
}

// recordOpen keeps the upload in its caller's folder, so another device of the caller can
// find and finish it: one storage round trip at initiate, for authenticated callers only.
// Nothing is removed at complete or abort (that would cost the complete a round trip): a
// listing drops what is no longer open.
func (s *Service) recordOpen(ctx context.Context, c *uploadplan.Claims, filename, fingerprint string) error {
	return s.records.PutIn(ctx, records.Open, c.Subject, c.UploadID,
		&openRecord{Claims: *c, Filename: filename, Fingerprint: fingerprint, Initiated: s.now().UTC()})
}

// ListOpen returns the caller's uploads in progress (GET /uploads), oldest first, each
// with the parts stored so far and a fresh token: one listing of the caller's folder, one
// read of each record and one ListParts of each upload (8 at a time). An upload completed,
// aborted or expired is dropped from the folder as it is found; a record directup did not
// seal, or another caller's, is never answered.
func (s *Service) ListOpen(ctx context.Context) ([]OpenUpload, error) {
	caller := Caller(ctx)
	if !s.keepsOpen(caller) {
		return nil, &errcode.Error{Code: errcode.NotAvailable,
			Message: "listing open uploads needs an authenticated caller (AUTH_MODE=jwt or gateway) and a store that keeps records"}
	}
	entries, forged, err := s.records.ListIn(ctx, records.Open, caller)
	if err != nil {
		return nil, err
	}
	for _, path := range forged {
		// Not a record this deployment sealed for this caller, as far as this instance's
		// keys tell: logged and skipped, never removed (it may be a real record sealed with a
		// rotated-out secret this instance does not know).
		s.log.Error("record not written by directup: ignored", "kind", records.Open, "path", path)
	}
	out := make([]*OpenUpload, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, e := range entries {
		g.Go(func() (err error) {
			out[i], err = s.openUpload(gctx, caller, e)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	list := []OpenUpload{}
	for _, u := range out {
		if u != nil {
			list = append(list, *u)
		}
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].Initiated.Before(list[b].Initiated) })
	return list, nil
}

// openUpload is the entry of one record, or nil (dropping the record) when its upload is
// no longer open.
func (s *Service) openUpload(ctx context.Context, caller string, e records.Entry) (*OpenUpload, error) {
	var r openRecord
	c := &r.Claims
	if err := json.Unmarshal(e.Body, &r); err != nil || c.UploadID != e.ID || c.Subject != caller || c.Bucket != s.store.Bucket() {
		return nil, nil // sealed by this deployment, but not an upload of this caller here
	}
	if _, known := s.profiles[c.Profile]; s.now().Unix() >= c.Expires || (c.Profile != "" && !known) {
		return nil, s.dropOpen(ctx, caller, e.ID) // its token ended, or its profile is gone: it cannot go on
	}
	parts, err := s.store.ListParts(ctx, c.Key, c.UploadID)
	if errcode.Is(err, errcode.UploadNotFound) {
		return nil, s.dropOpen(ctx, caller, e.ID) // completed or aborted
	}
	if err != nil {
		return nil, err
	}
	if parts == nil {
		parts = []wire.StoredPart{}
	}
	plan := c.Plan()
	fresh := *c
	fresh.Issued = s.now().Unix() // the same upload and end: only the signature is new
	return &OpenUpload{
		UploadID: c.UploadID, Key: c.Key, Filename: r.Filename, Size: c.Size, PartSize: c.PartSize, PartCount: plan.PartCount,
		ContentType: c.ContentType, Profile: c.Profile, Initiated: r.Initiated.UTC(),
		ExpiresAt: time.Unix(c.Expires, 0).UTC(), Token: s.tokens.Sign(fresh), Fingerprint: r.Fingerprint, Parts: parts,
		PartBatch: s.policy.PartBatch, ChecksumAlgorithm: c.Checksum, ChecksumRequired: s.rulesOf(c).RequireChecksum,
	}, nil
}

// dropOpen removes the record of an upload no longer open; best effort (the next listing
// drops it again).
func (s *Service) dropOpen(ctx context.Context, caller, uploadID string) error {
	_ = s.records.DeleteIn(ctx, records.Open, caller, uploadID)
	return nil
}
