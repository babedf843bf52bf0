package upload

import (
	"context"
	"time"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

// declaredSum is the whole-object checksum a complete declares, read before the store is
// asked anything: nil when none was sent (refused where the rules require one), the
// algorithm's value otherwise.
type declaredSum struct {
	algo  *checksum.Algo
	value uint64
	text  string
}

func (s *Service) declaredChecksum(c *uploadplan.Claims, sum *wire.Checksum) (*declaredSum, error) {
	return readChecksum(checksum.Of(c.Checksum), s.rulesOf(c).RequireChecksum, sum, "complete")
}

// readChecksum reads a declared checksum in algo (nil: the store, or the upload, has none);
// required refuses none. when names the call, for the messages.
func readChecksum(algo *checksum.Algo, required bool, sum *wire.Checksum, when string) (*declaredSum, error) {
	if sum == nil || (sum.CRC64ECMA == "" && sum.CRC64NVME == "") {
		if algo != nil && required {
			return nil, &errcode.Error{Code: errcode.MissingField, Field: "checksum",
				Message: "this deployment requires the object's " + algo.Name + " with the " + when}
		}
		return nil, nil
	}
	if algo == nil {
		return nil, errcode.Invalid("checksum", "this upload was started on a store without a whole-object checksum")
	}
	text, other, otherName := sum.CRC64ECMA, sum.CRC64NVME, checksum.CRC64NVME
	if algo == checksum.NVME {
		text, other, otherName = sum.CRC64NVME, sum.CRC64ECMA, checksum.CRC64ECMA
	}
	field := "checksum." + algo.Name
	if other != "" || text == "" {
		return nil, errcode.Invalid("checksum."+otherName, "this store keeps %s (the initiate answer's checksumAlgorithm), not %s", algo.Name, otherName)
	}
	v, ok := algo.Parse(text)
	if !ok {
		if algo == checksum.NVME {
			return nil, errcode.Invalid(field, "crc64nvme is the base64 of the CRC's 8 bytes, big-endian")
		}
		return nil, errcode.Invalid(field, "crc64ecma is the CRC as a decimal number")
	}
	return &declaredSum{algo: algo, value: v, text: text}, nil
}

// stored is the store's own checksum of the assembled object, in the declared algorithm.
func (d *declaredSum) stored(done *wire.Completed) string {
	if d.algo == checksum.NVME {
		return done.CRC64NVME
	}
	return done.CRC64
}

// checkChecksum holds the assembled object to the checksum the client declared: the
// store's own (its complete's answer: no read) must be the same, or the object is removed
// and refused (422 checksum_mismatch, told as upload.rejected). A store whose answer names
// none (a repeated complete of an upload already completed) is asked with a read; an object
// it has no checksum for is refused too. repeated: the upload was completed by an earlier
// call, which held the object to its own declaration: a wrong declaration now is refused,
// and the object kept.
func (s *Service) checkChecksum(ctx context.Context, c *uploadplan.Claims, done *wire.Completed, d *declaredSum, repeated bool) error {
	if d == nil {
		return nil
	}
	got := d.stored(done)
	if got == "" {
		// S3 answers a repeated complete without the checksum, and checked nothing then.
		repeated = repeated || s.caps.ChecksChecksum
		info, err := s.objects.Stat(ctx, c.Key)
		if err != nil {
			return err
		}
		if by, err := s.StoredBy(ctx, c, info); err != nil {
			return err
		} else if by {
			done.CRC64, done.CRC64NVME = info.CRC64, info.CRC64NVME
			got = d.stored(done)
		}
	}
	if v, ok := d.algo.Parse(got); ok && v == d.value {
		return nil
	}
	if got == "" {
		got = "none"
	}
	what := "the stored object's " + d.algo.Name + " is " + got + ", not the declared " + d.algo.Format(d.value)
	if repeated {
		return &errcode.Error{Code: errcode.ChecksumMismatch, Field: "checksum",
			Message: what + "; this upload was completed earlier and its object checked then: it was kept"}
	}
	return s.rejectStored(ctx, c, done, storage.ObjectInfo{Size: done.Size}, "",
		&errcode.Error{Code: errcode.ChecksumMismatch, Field: "checksum"}, what)
}

// refusedChecksum answers a complete the store refused for its checksum (S3 checks the
// declared one itself: no object was made, and what the key held stays): the parts are
// listed for the store's own value (their checksums combined, in the named order), the
// upload is aborted — nothing from it may become an object — and the refusal is told as
// upload.rejected, naming both values, as when the object is removed after the fact.
func (s *Service) refusedChecksum(ctx context.Context, c *uploadplan.Claims, parts []wire.CompletedPart, d *declaredSum, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	got := "unknown"
	if stored, lerr := s.store.ListParts(ctx, c.Key, c.UploadID); lerr == nil {
		if v, ok := combined(d.algo, stored, parts); ok {
			got = d.algo.Format(v)
		}
	}
	s.abortQuietly(ctx, c.Key, c.UploadID)
	e := &errcode.Error{Code: errcode.ChecksumMismatch, Field: "checksum", Err: err,
		Message: "the stored parts' " + d.algo.Name + " is " + got + ", not the declared " + d.algo.Format(d.value) + "; no object was made and the upload was aborted"}
	s.publish(ctx, &events.Event{Type: events.Rejected, Profile: c.Profile, Bucket: c.Bucket, Key: c.Key, UploadID: c.UploadID,
		ContentType: c.ContentType, Source: "api", Reason: e.Code + ": " + e.Message})
	return e
}

// combined is the checksum of the named parts as stored, from their own (ok false when
// the store keeps none for one of them).
func combined(algo *checksum.Algo, stored []wire.StoredPart, parts []wire.CompletedPart) (uint64, bool) {
	have := make(map[int]wire.StoredPart, len(stored))
	for _, p := range stored {
		have[p.PartNumber] = p
	}
	var whole uint64
	for _, p := range parts {
		sp, ok := have[p.PartNumber]
		v, vok := algo.Parse(sp.Checksum)
		if !ok || !vok {
			return 0, false
		}
		whole = algo.Combine(whole, v, sp.Size)
	}
	return whole, true
}
