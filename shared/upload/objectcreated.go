package upload

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
)

// WithEvents tells events every outcome.
func WithEvents(e events.Sink) Option { return func(s *Service) { s.events = e } }

func (s *Service) publish(ctx context.Context, ev *events.Event) {
	if s.events == nil {
		return
	}
	ev.Source = "api"
	s.tell(ctx, ev)
}

// tell completes ev (time, caller, and the id if identify did not set it) and publishes
// it within 5 s.
func (s *Service) tell(ctx context.Context, ev *events.Event) error {
	if s.events == nil {
		return nil
	}
	ev.Time = s.now().UTC()
	if ev.Caller == "" {
		ev.Caller = Caller(ctx)
	}
	if ev.ID == "" {
		identify(ev, "", "", time.Time{})
	}
	// Told while the caller waits (a function may be frozen once it answers), within 5 s
	// of its own even if the request's deadline ends first.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.events.Publish(ctx, ev)
}

// ObjectCreated checks an object storage reports created (the storage-triggered function)
// as the API checks a complete — size within the policy, content against its type, a
// contradiction deleted — and tells the outcome. It covers objects completed by any path.
// Objects outside the key prefix and directup's own records are not uploads: ignored. An
// error (storage, or an event that could not be delivered) asks the platform to retry.
func (s *Service) ObjectCreated(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, s.policy.KeyPrefix) || policy.IsReserved(s.policy.KeyPrefix, key) {
		return nil
	}
	if _, ok := s.objects.(noObjects); ok {
		return &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot read objects back: nothing to check"}
	}
	info, err := s.objects.Stat(ctx, key)
	if err != nil {
		return err
	}
	rej, err := s.rejectionFor(ctx, key)
	if err != nil {
		return err
	}
	if !info.Exists {
		// Deleted since: by the API's verification, or by an earlier attempt of this very
		// event whose rejection could not be told then — its record says so.
		return s.finishRecordedRejection(ctx, key, rej, info)
	}
	if rej != nil && rej.Remove && rej.Event.ETag == info.ETag {
		// The API rejected this very object but could not remove it: finish that.
		return s.finishRecordedRejection(ctx, key, rej, info)
	}
	ev := &events.Event{Type: events.Completed, Bucket: s.store.Bucket(), Key: key, Size: info.Size, ETag: info.ETag,
		CRC64: info.CRC64, ContentType: info.ContentType, Metadata: userMetadata(info.Metadata), Source: "storage"}
	write, keys := info.Metadata[policy.WriteMetadata], ""
	if s.apiWrite(key, info) {
		write = write[:writeIDLen] // the write's id, as the token names it
	} else {
		write = "" // not an API upload's: a client's (temporary keys), or written outside directup
	}
	reject := func(reason string) error {
		// Deleted first (what contradicts its declaration is not left in the bucket while
		// an endpoint is down); a rejection that cannot be told is recorded, and the
		// platform's retry, finding the object gone, tells it from the record.
		if err := s.removeObject(ctx, key); err != nil {
			return err
		}
		ev.Type, ev.Reason = events.Rejected, reason
		identify(ev, write, keys, info.LastModified)
		err := s.tell(ctx, ev)
		if s.records != nil && err != nil {
			if rerr := s.records.Put(ctx, records.Rejected, key, &rejection{Event: *ev}); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	if info.Size > s.policy.MaxSize {
		return reject("the object is larger than this deployment's limit of " + strconv.FormatInt(s.policy.MaxSize, 10) + " bytes; it was deleted")
	}
	if write == "" {
		// Written with temporary keys, perhaps: held to what was declared for keys valid
		// when it was written — any one of them (several callers may hold keys for one
		// client key; each declaration bounds what its keys may leave).
		held, err := s.declarationsFor(ctx, key, info.LastModified)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			d := matching(held, info)
			if d == nil {
				d = &held[len(held)-1] // the newest names the refusal
				if d.Caller != "" {
					ev.Caller = d.Caller
				}
				keys = d.Keys
				if info.Size != d.Size {
					return reject("the object holds " + strconv.FormatInt(info.Size, 10) + " bytes, not the " + strconv.FormatInt(d.Size, 10) + " declared for its keys; it was deleted")
				}
				return reject("the object is stored as " + policy.MediaType(info.ContentType) + ", not the " + policy.MediaType(d.ContentType) + " declared for its keys; it was deleted")
			}
			keys = d.Keys
			if d.Caller != "" {
				ev.Caller = d.Caller // who declared it, the only caller the bucket can name
			}
		}
	}
	if s.policy.VerifyContent && !info.CustomerKeyEncrypted {
		head, err := s.objects.ReadHead(ctx, key, policy.HeadBytes)
		if err != nil {
			return err
		}
		detected, ok := s.policy.ContentVerdict(info.ContentType, head)
		ev.DetectedType = detected
		if !ok {
			return reject(errcode.ContentMismatch + ": the stored content is " + detected + ", not the declared " + policy.MediaType(info.ContentType) + "; the object was deleted")
		}
	}
	identify(ev, write, keys, info.LastModified)
	return s.tell(ctx, ev)
}

// rejection is the record of a rejected object: its event (untold until Told), and Remove
// while the object itself could not be deleted yet.
type rejection struct {
	Event  events.Event `json:"event"`
	Told   bool         `json:"told,omitempty"`
	Remove bool         `json:"remove,omitempty"`
}

// rejectionFor reads the rejection recorded for key; a forged record is logged and
// ignored (never told, never acted on).
func (s *Service) rejectionFor(ctx context.Context, key string) (*rejection, error) {
	if s.records == nil {
		return nil, nil
	}
	var r rejection
	found, err := s.records.Get(ctx, records.Rejected, key, &r)
	if errors.Is(err, records.ErrForged) {
		s.log.Error("record not written by directup: ignored", "kind", records.Rejected, "key", key, "error", err.Error())
		return nil, nil
	}
	if err != nil || !found || r.Event.Key != key {
		return nil, err
	}
	return &r, nil
}

// finishRecordedRejection does what a recorded rejection still needs — remove the object
// it rejected (only that very object: the same ETag), tell it — then drops the record,
// so a later upload to the key is not answered from it.
func (s *Service) finishRecordedRejection(ctx context.Context, key string, r *rejection, info storage.ObjectInfo) error {
	if r == nil {
		return nil
	}
	if r.Remove && info.Exists && info.ETag == r.Event.ETag {
		if err := s.removeObject(ctx, key); err != nil {
			return err
		}
	}
	if !r.Told {
		ev := r.Event
		ev.RemovalPending = false
		if err := s.tell(ctx, &ev); err != nil {
			return err
		}
	}
	return s.records.Delete(ctx, records.Rejected, key)
}

// removeObject deletes an object that contradicts its declaration, retried with backoff
// (200 ms, 800 ms) within 10 s of its own: what was rejected must not stay.
func (s *Service) removeObject(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for i, wait := range []time.Duration{0, 200 * time.Millisecond, 800 * time.Millisecond} {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(wait):
			}
		}
		if err = s.objects.Delete(ctx, key); err == nil {
			return nil
		}
	}
	return err
}
