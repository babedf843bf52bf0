package upload

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

// Complete assembles the object. Every part of the plan must be named. It costs two storage
// round trips: the store's complete and one read of the object (its size against the
// declaration, its content against the declared type, what the event tells). A pinned
// upload's parts are not listed first: their URLs fixed their sizes and the store checks
// their ETags; they are listed only to explain a refusal. An open upload's parts, whose
// sizes nothing pinned, are listed and held to the policy before the complete.
func (s *Service) Complete(ctx context.Context, token, uploadID string, parts []wire.CompletedPart) (*wire.Completed, error) {
	return s.CompleteWith(ctx, token, uploadID, &wire.CompleteRequest{Parts: parts})
}

// CompleteWith is Complete with the client's whole-object checksum, when req carries one:
// the store's own checksum of the assembled object, which its complete answers (no further
// round trip), must be the same (checkChecksum).
func (s *Service) CompleteWith(ctx context.Context, token, uploadID string, req *wire.CompleteRequest) (*wire.Completed, error) {
	c, err := s.claims(ctx, token, uploadID)
	if err != nil {
		return nil, err
	}
	plan := c.Plan()
	parts, err := s.namedParts(c, plan, req.Parts)
	if err != nil {
		return nil, err
	}
	sum, err := s.declaredChecksum(c, req.Checksum)
	if err != nil {
		return nil, err
	}
	opts := storage.CompleteOptions{ForbidOverwrite: c.ForbidOverwrite, PartChecksums: s.caps.PartChecksums && c.Checksum != ""}
	var have map[int]wire.StoredPart
	// Listed first: open uploads (nothing pinned their sizes) and SSE-C ones (no read can
	// check the object afterwards without its key, and bytes stored with other credentials
	// would go unseen); the store's ETag check then holds the listing.
	if c.Open || c.CustomerKeyMD5 != "" {
		if have, err = s.storedParts(ctx, c, plan, parts); err != nil {
			return nil, err
		}
	}
	if !c.Open {
		opts.ObjectSize = &plan.Size
	}
	if s.caps.PartChecksums && have != nil { // the listing has them: the store needs none of its own
		for i, p := range parts {
			if p.Checksum == "" {
				parts[i].Checksum = have[p.PartNumber].Checksum
			}
		}
	}
	if sum != nil && s.caps.ChecksChecksum {
		opts.Checksum = sum.algo.Format(sum.value) // the store refuses another itself
	}
	done, err := s.store.Complete(ctx, c.Key, c.UploadID, parts, opts)
	repeated := err != nil
	// Where others may be handed keys for the key, what the complete stored is recorded
	// (storedwrite.go): by this call, or by a repeat of one that could not record it.
	record := c.Write != "" && c.Settings != "" && s.records != nil
	if err != nil {
		if errcode.Is(err, errcode.ChecksumMismatch) {
			return nil, s.refusedChecksum(ctx, c, parts, sum, err)
		}
		if done, record, err = s.completedBefore(ctx, c, plan, parts, err); err != nil {
			return nil, err
		}
	}
	// Once storage has assembled the object it is checked whatever becomes of the caller
	// (a client gone, a deadline passed): what contradicts its declaration never stays.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	done.Size = plan.Size
	if have != nil {
		done.Size = 0
		for _, p := range parts {
			done.Size += have[p.PartNumber].Size
		}
	}
	if err := s.checkChecksum(ctx, c, done, sum, repeated); err != nil {
		return nil, err
	}
	info, detected, err := s.checkStored(ctx, c, done)
	if err != nil {
		return nil, err
	}
	if record {
		// After the read, which tells the object's settings: a record that could not be
		// written leaves the object unbound from its seal, and the repeat records it.
		ours, err := s.recordWrite(ctx, c, done.ETag, info)
		if err != nil {
			return nil, err
		}
		if !ours {
			// Another object is there already: its metadata is none of the upload's.
			info = storage.ObjectInfo{Exists: true, ContentType: c.ContentType}
		}
	}
	s.tellCompleted(ctx, c, done, detected, info)
	return done, nil
}

// completedBefore tells a complete the store refused because it was already carried out —
// by an earlier call of this very upload whose answer was lost or whose caller went away
// (the object at the key carries this upload's write) — from a real refusal: the object of
// the earlier call is then answered, and checked as if this call had made it.
//
// record tells whether the earlier call left its object unrecorded (storedwrite.go): this
// one records it then, as it was found.
func (s *Service) completedBefore(ctx context.Context, c *uploadplan.Claims, plan uploadplan.Plan, parts []wire.CompletedPart, err error) (done *wire.Completed, record bool, _ error) {
	if !errcode.Is(err, errcode.UploadNotFound) {
		return nil, false, s.refusedComplete(ctx, c, plan, parts, err)
	}
	if ferr := s.completeFailed(ctx, c, err); ferr != err {
		return nil, false, ferr // a recorded rejection of this upload, finished now
	}
	info, serr := s.objects.Stat(ctx, c.Key)
	if serr != nil {
		return nil, false, err
	}
	by, unrecorded, berr := s.storedBy(ctx, c, info)
	if berr != nil || !by {
		return nil, false, cmp.Or(berr, err)
	}
	return &wire.Completed{Bucket: c.Bucket, Key: c.Key, ETag: info.ETag, Size: info.Size, CRC64: info.CRC64, CRC64NVME: info.CRC64NVME}, unrecorded, nil
}

// refusedComplete explains a store's refusal of a pinned upload's parts by listing them
// (which part is missing, of another size or ETag; more stored than declared aborts the
// upload), or is err when the listing finds nothing to name.
func (s *Service) refusedComplete(ctx context.Context, c *uploadplan.Claims, plan uploadplan.Plan, parts []wire.CompletedPart, err error) error {
	if !c.Open && errcode.Is(err, errcode.InvalidPart) {
		if _, lerr := s.storedParts(ctx, c, plan, parts); lerr != nil {
			return lerr
		}
	}
	return s.completeFailed(ctx, c, err)
}

// namedParts checks the parts a complete names against the plan — in it, each once, every
// one of it (open uploads: any) — and returns them ascending with quoted ETags.
func (s *Service) namedParts(c *uploadplan.Claims, plan uploadplan.Plan, parts []wire.CompletedPart) ([]wire.CompletedPart, error) {
	if len(parts) == 0 {
		return nil, errcode.Missing("parts")
	}
	if len(parts) > s.caps.MaxParts {
		return nil, errcode.Invalid("parts", "at most %d parts", s.caps.MaxParts)
	}
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b wire.CompletedPart) int { return a.PartNumber - b.PartNumber })
	for i, p := range parts {
		field := "parts[" + strconv.Itoa(i) + "]"
		if p.PartNumber < 1 || p.PartNumber > plan.PartCount {
			return nil, errcode.Invalid(field+".partNumber", "part %d is outside this upload's plan of %d parts", p.PartNumber, plan.PartCount)
		}
		if i > 0 && parts[i-1].PartNumber == p.PartNumber {
			return nil, errcode.Invalid(field+".partNumber", "part %d is listed twice", p.PartNumber)
		}
		if p.Checksum != "" && !s.caps.PartChecksums {
			parts[i].Checksum = "" // the store's complete takes none
		} else if _, ok := checksum.NVME.Parse(p.Checksum); p.Checksum != "" && !ok {
			return nil, errcode.Invalid(field+".checksum", "a part's checksum is the base64 of its crc64nvme's 8 bytes, big-endian")
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
	return parts, nil
}

// storedParts lists what the store holds and holds it to the plan: more than declared
// aborts the upload (nothing from it may become an object); each named part must be
// stored, of its planned size, with the named ETag.
func (s *Service) storedParts(ctx context.Context, c *uploadplan.Claims, plan uploadplan.Plan, parts []wire.CompletedPart) (map[int]wire.StoredPart, error) {
	stored, err := s.store.ListParts(ctx, c.Key, c.UploadID)
	if err != nil {
		return nil, s.completeFailed(ctx, c, err)
	}
	var total int64
	have := make(map[int]wire.StoredPart, len(stored))
	for _, p := range stored {
		have[p.PartNumber] = p
		total += p.Size
	}
	if total > plan.Size {
		// More was stored than declared (or, for open uploads, than the policy allows).
		s.abortQuietly(ctx, c.Key, c.UploadID)
		s.publish(ctx, &events.Event{Type: events.Rejected, Profile: c.Profile, Bucket: c.Bucket, Key: c.Key, UploadID: c.UploadID, Size: total,
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
	if min := s.rulesOf(c).MinSize; c.Open && min > 0 {
		var named int64
		for _, p := range parts {
			named += have[p.PartNumber].Size
		}
		if named < min { // an open upload's size is known only now
			return nil, errcode.Invalid("parts", "the parts hold %d bytes; this upload takes at least %d", named, min)
		}
	}
	return have, nil
}

// tellCompleted tells upload.completed, with the stored object's metadata and version.
// What the complete's read told of the object (info) fills the event: no further read,
// but for an SSE-C object, which only a HEAD without its key describes.
func (s *Service) tellCompleted(ctx context.Context, c *uploadplan.Claims, done *wire.Completed, detected string, info storage.ObjectInfo) {
	if s.events == nil {
		return
	}
	ev := &events.Event{Type: events.Completed, Profile: c.Profile, Bucket: done.Bucket, Key: done.Key, UploadID: c.UploadID, Size: done.Size,
		ETag: done.ETag, CRC64: done.CRC64, CRC64NVME: done.CRC64NVME, ContentType: c.ContentType, DetectedType: detected}
	if !info.Exists {
		info, _ = s.objects.Stat(ctx, c.Key)
	}
	modified := time.Time{}
	if info.Exists {
		ev.Metadata, ev.ContentType, modified = userMetadata(info.Metadata), info.ContentType, info.LastModified
	}
	identify(ev, c.Write, "", modified)
	s.publish(ctx, ev)
}

// completeFailed is err, unless the upload is gone because an earlier complete stored its
// object, rejected it and could not remove it then: that removal is finished now, and the
// answer is the rejection again.
func (s *Service) completeFailed(ctx context.Context, c *uploadplan.Claims, err error) error {
	if errcode.As(err).Code != errcode.UploadNotFound {
		return err
	}
	handled, refusal, ferr := s.finishRejection(ctx, c)
	switch {
	case !handled:
		return err
	case ferr != nil:
		return ferr
	}
	return refusal
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
		s.publish(ctx, &events.Event{Type: events.Aborted, Profile: c.Profile, Bucket: c.Bucket, Key: c.Key, UploadID: c.UploadID, ContentType: c.ContentType})
		return nil
	}
	if e := errcode.As(err); e.Code != errcode.UploadNotFound {
		return err
	}
	if handled, _, err := s.finishRejection(ctx, c); handled {
		return err // the object was rejected: nothing is stored once it is removed
	}
	info, err := s.objects.Stat(ctx, c.Key)
	if err != nil {
		return err
	}
	// Only this upload's own write (its sealed value) is its completion: another object at
	// the key (there before it, kept by forbidOverwrite, or another caller's since) is not,
	// and the upload itself is simply gone. A token of before the seal goes by the time.
	completed, err := s.StoredBy(ctx, c, info)
	if err != nil {
		return err
	}
	if c.Write == "" {
		completed = info.Exists && (c.Issued == 0 || !info.LastModified.Before(time.Unix(c.Issued, 0).Add(-time.Second)))
	}
	if completed {
		return &errcode.Error{Code: errcode.UploadCompleted,
			Message: "the upload was completed: the object " + c.Key + " is stored; delete it to undo"}
	}
	return nil
}
