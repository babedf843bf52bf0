package upload

import (
	"context"
	"errors"
	"sync"
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

// uploadsKey reports whether key is where uploads land: under the deployment's prefix or
// a profile's, and not among directup's records.
func (s *Service) uploadsKey(key string) bool {
	_, ok := s.folders.Owner(key)
	return ok && !policy.IsReserved(s.policy.KeyPrefix, key)
}

// ObjectCreated checks an object storage reports created (the storage-triggered function)
// as the API checks a complete — size within the policy, content against its type, a
// contradiction deleted — and tells the outcome. It covers objects completed by any path.
// Objects outside every key prefix (the deployment's and its profiles') and directup's own
// records are not uploads: ignored. An error (storage, or an event that could not be
// delivered) asks the platform to retry.
func (s *Service) ObjectCreated(ctx context.Context, key string) error {
	if !s.uploadsKey(key) {
		return nil
	}
	if _, ok := s.objects.(noObjects); ok {
		return &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot read objects back: nothing to check"}
	}
	r := s.readAll(ctx, key)
	info, head, rej := r.info, r.head, r.rejection
	if err := errors.Join(r.infoErr, r.rejectionErr); err != nil {
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
	o := s.newCreatedObject(key, info)
	o.head, o.declared, o.declaredErr, o.declaredAt = head, r.declared, r.declaredErr, r.declaredAt
	reason, err := s.verdict(ctx, o)
	if err != nil {
		return err
	}
	if reason != "" {
		return s.rejectObject(ctx, o, reason)
	}
	identify(o.ev, o.write, o.keys, info.LastModified)
	return s.tell(ctx, o.ev)
}

// created is what ObjectCreated reads of an object before judging it.
type created struct {
	info         storage.ObjectInfo
	head         []byte
	infoErr      error
	rejection    *rejection
	rejectionErr error
	declared     []declared // temporary keys' declarations for the key, whichever hold
	declaredErr  error      // reported only if the object turns out to need them
	declaredAt   time.Time  // when the declarations read began
}

// readAll reads the object, its recorded rejection and its keys' declarations at once:
// one round trip where three followed each other (the declarations matter only for an
// object no API upload sealed, which the first read tells: read anyway, a request more
// but no wait), so an object held to its declaration is judged, and one that contradicts
// it removed, as soon as storage can answer.
func (s *Service) readAll(ctx context.Context, key string) *created {
	r := &created{declaredAt: s.now()}
	var wg sync.WaitGroup
	wg.Go(func() { r.info, r.head, r.infoErr = s.readCreated(ctx, key) })
	wg.Go(func() { r.rejection, r.rejectionErr = s.rejectionFor(ctx, key) })
	wg.Go(func() { r.declared, r.declaredErr = s.readDeclarations(ctx, key) })
	wg.Wait()
	return r
}

// readCreated reads what the check needs in one round trip where it can: the object's
// first bytes with what the answer tells of it when its folder's rules verify content
// (a HEAD otherwise, or when the read fails — a missing or SSE-C object).
func (s *Service) readCreated(ctx context.Context, key string) (storage.ObjectInfo, []byte, error) {
	owner, _ := s.folders.Owner(key)
	if s.rulesNamed(owner).VerifyContent {
		if head, info, err := s.objects.ReadHead(ctx, key, policy.HeadBytes); err == nil {
			return info, head, nil
		}
	}
	info, err := s.objects.Stat(ctx, key)
	return info, nil, err
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
