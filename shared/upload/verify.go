package upload

import (
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"

	"context"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
)

// verifyContent reads the completed object's first bytes and removes it when they
// contradict its declared type (422 content_mismatch, told as upload.rejected); it
// returns the detected type. SSE-C objects cannot be read without their key, which the
// function does not keep: they are not checked (nor are uploads whose token predates the
// declared type being kept in it).
//
// A contradiction never ends as an object nobody hears of: when the removal still fails
// after its retries, the answer and the event say so, and a record (kind rejected, with
// Remove) lets the next call for the upload or the storage-triggered function finish it.
func (s *Service) verifyContent(ctx context.Context, c *uploadplan.Claims, done *wire.Completed) (string, error) {
	rules := s.rulesOf(c)
	if !rules.VerifyContent || c.CustomerKeyMD5 != "" || c.ContentType == "" {
		return "", nil
	}
	head, _, err := s.objects.ReadHead(ctx, c.Key, policy.HeadBytes)
	if err != nil {
		return "", err
	}
	detected, ok := rules.ContentVerdict(c.ContentType, head)
	if ok {
		return detected, nil
	}
	ev := &events.Event{Type: events.Rejected, Profile: c.Profile, Bucket: done.Bucket, Key: done.Key, UploadID: c.UploadID, Size: done.Size,
		ETag: done.ETag, CRC64: done.CRC64, ContentType: c.ContentType, DetectedType: detected, Source: "api"}
	modified := time.Time{}
	if c.Write == "" && (s.events != nil || s.records != nil) {
		// A token from before writes were named: the modification time names this write,
		// as the storage-triggered function names it.
		if info, err := s.objects.Stat(ctx, c.Key); err == nil && info.Exists {
			modified = info.LastModified
		}
	}
	identify(ev, c.Write, "", modified)
	what := "the stored content is " + detected + ", not the declared " + policy.MediaType(c.ContentType) + " (or a type this deployment allows)"
	e := &errcode.Error{Code: errcode.ContentMismatch, Field: "contentType"}
	if rerr := s.removeObject(ctx, c.Key); rerr != nil {
		e.Message = what + "; the object could not be removed yet and will be (at the next call for this upload, or by the storage-triggered function)"
		e.Err = rerr
		ev.RemovalPending = true
		ev.Reason = errcode.ContentMismatch + ": " + e.Message
		if s.records != nil {
			r := &rejection{Event: *ev, Told: s.events != nil, Remove: true}
			r.Event.Source = "api"
			if werr := s.records.Put(context.WithoutCancel(ctx), records.Rejected, c.Key, r); werr != nil {
				s.log.Error("rejected object not removed and not recorded", "key", c.Key, "uploadId", c.UploadID, "error", werr.Error())
			}
		}
		s.publish(ctx, ev)
		return detected, e
	}
	e.Message = what + "; the object was deleted"
	ev.Reason = errcode.ContentMismatch + ": " + e.Message
	s.publish(ctx, ev)
	return detected, e
}

// finishRejection completes, for a call on an upload whose object was rejected earlier
// but could not be removed then, what that call left: the object is removed now. handled
// is false when no such rejection is recorded for this upload.
func (s *Service) finishRejection(ctx context.Context, c *uploadplan.Claims) (handled bool, err error) {
	r, err := s.rejectionFor(ctx, c.Key)
	if err != nil || r == nil || r.Event.UploadID != c.UploadID {
		return false, err
	}
	info, err := s.objects.Stat(ctx, c.Key)
	if err != nil {
		return true, err
	}
	if err := s.finishRecordedRejection(ctx, c.Key, r, info); err != nil {
		return true, &errcode.Error{Code: errcode.ContentMismatch, Field: "contentType",
			Message: "this upload's object contradicted its declared type and could not be removed yet; try again", Err: err}
	}
	return true, nil
}
