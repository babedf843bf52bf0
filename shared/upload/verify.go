package upload

import (
	"context"
	"strconv"
	"strings"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

// checkStored reads the completed object once and holds it to its declaration: its size
// (a pinned upload's parts are never listed: their URLs fixed their sizes, but bytes
// stored with other credentials would not be) and, where the rules verify content, its
// first bytes against the declared type. What contradicts the declaration is removed and
// refused (422 content_mismatch or 409 invalid_part, told as upload.rejected); the answer
// is what the read told of the object (for the event: no second read) and the detected
// type. SSE-C objects cannot be read without their key, which the function does not
// keep: their parts were listed and held to the plan before the complete instead.
//
// A contradiction never ends as an object nobody hears of: when the removal still fails
// after its retries, the answer and the event say so, and a record (kind rejected, with
// Remove) lets the next call for the upload or the storage-triggered function finish it.
func (s *Service) checkStored(ctx context.Context, c *uploadplan.Claims, done *wire.Completed) (storage.ObjectInfo, string, error) {
	if c.CustomerKeyMD5 != "" {
		return storage.ObjectInfo{}, "", nil
	}
	rules := s.rulesOf(c)
	content := rules.VerifyContent && c.ContentType != ""
	verify := content || c.HeadLen > 0 // a head sent at initiate is compared whatever the rules
	if !verify && !c.Open && s.caps.ChecksObjectSize && s.events == nil {
		return storage.ObjectInfo{}, "", nil // the store checked the size: nothing to read
	}
	var head []byte
	var info storage.ObjectInfo
	var err error
	if verify {
		head, info, err = s.objects.ReadHead(ctx, c.Key, max(policy.HeadBytes, c.HeadLen))
	} else {
		info, err = s.objects.Stat(ctx, c.Key)
	}
	if err != nil {
		return info, "", err
	}
	if !c.Open && info.Exists && info.Size != done.Size {
		what := "the stored object holds " + strconv.FormatInt(info.Size, 10) + " bytes, not the declared " + strconv.FormatInt(done.Size, 10)
		return info, "", s.rejectStored(ctx, c, done, info, "", &errcode.Error{Code: errcode.InvalidPart, Field: "parts"}, what)
	}
	if !verify {
		return info, "", nil
	}
	if what := headContradicts(c, head, info.Size); what != "" {
		return info, "", s.rejectStored(ctx, c, done, info, "", &errcode.Error{Code: errcode.ContentMismatch, Field: "head"}, what)
	}
	if !content {
		return info, "", nil
	}
	detected, ok := rules.ContentVerdict(c.ContentType, head)
	if ok {
		return info, detected, nil
	}
	what := "the stored content is " + detected + ", not the declared " + policy.MediaType(c.ContentType) + " (or a type this deployment allows)"
	return info, detected, s.rejectStored(ctx, c, done, info, detected, &errcode.Error{Code: errcode.ContentMismatch, Field: "contentType"}, what)
}

// rejectStored removes a completed object that contradicts its declaration and tells
// why; e is the refusal, completed with what happened to the object.
func (s *Service) rejectStored(ctx context.Context, c *uploadplan.Claims, done *wire.Completed, info storage.ObjectInfo, detected string, e *errcode.Error, what string) error {
	ev := &events.Event{Type: events.Rejected, Profile: c.Profile, Bucket: done.Bucket, Key: done.Key, UploadID: c.UploadID, Size: info.Size,
		ETag: done.ETag, CRC64: done.CRC64, CRC64NVME: done.CRC64NVME, ContentType: c.ContentType, DetectedType: detected, Source: "api"}
	// A token from before writes were named: the modification time names this write, as
	// the storage-triggered function names it.
	identify(ev, c.Write, "", info.LastModified)
	if rerr := s.removeObject(ctx, c.Key); rerr != nil {
		e.Message = what + "; the object could not be removed yet and will be (at the next call for this upload, or by the storage-triggered function)"
		e.Err = rerr
		ev.RemovalPending = true
		ev.Reason = e.Code + ": " + e.Message
		if s.records != nil {
			r := &rejection{Event: *ev, Told: s.events != nil, Remove: true}
			r.Event.Source = "api"
			if werr := s.records.Put(context.WithoutCancel(ctx), records.Rejected, c.Key, r); werr != nil {
				s.log.Error("rejected object not removed and not recorded", "key", c.Key, "uploadId", c.UploadID, "error", werr.Error())
			}
		}
		s.publish(ctx, ev)
		return e
	}
	e.Message = what + "; the object was deleted"
	ev.Reason = e.Code + ": " + e.Message
	s.publish(ctx, ev)
	return e
}

// finishRejection completes, for a call on an upload whose object was rejected earlier
// but could not be removed then, what that call left: the object is removed now. handled
// is false when no such rejection is recorded for this upload.
func (s *Service) finishRejection(ctx context.Context, c *uploadplan.Claims) (handled bool, refusal *errcode.Error, err error) {
	r, err := s.rejectionFor(ctx, c.Key)
	if err != nil || r == nil || r.Event.UploadID != c.UploadID {
		return false, nil, err
	}
	refusal = recordedRefusal(r)
	info, err := s.objects.Stat(ctx, c.Key)
	if err != nil {
		return true, refusal, err
	}
	if err := s.finishRecordedRejection(ctx, c.Key, r, info); err != nil {
		refusal.Message, refusal.Err = refusal.Message+" and could not be removed yet; try again", err
		return true, refusal, refusal
	}
	refusal.Message += "; it was deleted"
	return true, refusal, nil
}

// recordedRefusal is the refusal a recorded rejection answers again: a checksum's, or
// the declared type's (size refusals among them, as before checksums).
func recordedRefusal(r *rejection) *errcode.Error {
	if strings.HasPrefix(r.Event.Reason, errcode.ChecksumMismatch+":") {
		return &errcode.Error{Code: errcode.ChecksumMismatch, Field: "checksum",
			Message: "this upload's object did not have the declared checksum"}
	}
	return &errcode.Error{Code: errcode.ContentMismatch, Field: "contentType",
		Message: "this upload's object contradicted its declared type"}
}
