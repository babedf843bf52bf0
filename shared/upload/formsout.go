package upload

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
)

// A form stays valid for its lifetime, and its object is no open upload that POST /sts
// could list: keys handed out for a key while another caller's form for it is out would
// meet that form's object and judge it against their declaration (a form's seals are bound
// to its key only, so keys could set them on what they write). So a form for a key anyone
// else could name is recorded before it is signed (while temporary keys can be handed
// out), and POST /sts reads those records as it reads the declarations: no keys for a key
// another caller holds a form for. The two are ordered as an API upload and keys are: the
// form's record is written before it reads the declarations (lockedByKeysAt), and a keys'
// declaration is written before it reads the forms again (formsSince), so of a racing form
// and keys request one sees the other.
//
// Each form has a record of its own (a random id, never rewritten): dropping one read as
// expired can never remove a live one, and none can lose another's expiry.

// formOut is the record of one form signed for a key.
type formOut struct {
	Caller    string `json:"caller"`
	NotBefore int64  `json:"notBefore"` // Unix seconds: when the record was made, before the form
	NotAfter  int64  `json:"notAfter"`  // Unix seconds: the form cannot be posted after
}

// formsRecorded reports whether a form for key must be recorded: keys can be handed out,
// records are kept, and someone else could name the key — the client or the hook chose it
// or was told it, or clients may name keys (clientKeys: the rules of the key's folder) and
// so, once it is known, this generated one.
func (s *Service) formsRecorded(key, generated string, clientKeys bool) bool {
	return s.policy.AllowSTS && s.records != nil && (!s.unnamed(key, generated) || clientKeys)
}

// outstandingForm records the form about to be signed for key where that is needed
// (formsRecorded) and refuses it while another caller's keys for the key are out or too
// many forms for it are. The form must be signed to expire at until (its record's end:
// ttl from when the record was made, however long the checks took); drop removes the
// record, should the form not be signed after all. Recorded first, so keys racing this
// form either are seen here or see it.
func (s *Service) outstandingForm(ctx context.Context, key, generated string, rules *policy.Policy) (until time.Time, drop func(), err error) {
	ttl := rules.URLTTL
	if !s.formsRecorded(key, generated, rules.ClientKeys) {
		return s.now().Add(ttl), func() {}, nil
	}
	id, made, err := s.recordForm(ctx, key, ttl)
	if err != nil {
		return time.Time{}, nil, err
	}
	until, drop = made.Add(ttl), func() { s.dropForm(ctx, key, id) }
	if s.unnamed(key, generated) {
		return until, drop, nil // nobody could name it before: no keys for it, no other forms
	}
	var roomErr error
	var wg sync.WaitGroup
	wg.Go(func() { roomErr = s.formsRoom(ctx, key) })
	err = s.lockedByKeysAt(ctx, key, made)
	wg.Wait()
	if err = cmp.Or(err, roomErr); err != nil {
		drop()
		return time.Time{}, nil, err
	}
	return until, drop, nil
}

// recordForm keeps, before a form for key is signed, that the caller holds one until ttl
// from now (the form's own lifetime is at most that); it returns the record's id and when
// it was made.
func (s *Service) recordForm(ctx context.Context, key string, ttl time.Duration) (id string, made time.Time, err error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, err
	}
	id, made = hex.EncodeToString(b), s.now()
	f := formOut{Caller: Caller(ctx), NotBefore: made.Unix(), NotAfter: made.Add(ttl).Unix() + declarationSkew}
	return id, made, s.records.PutIn(ctx, records.Forms, key, id, &f)
}

// dropForm removes the record of a form that was refused (never signed): only its own.
// Best effort: a record left blocks others' new keys until it expires, never a renewal.
func (s *Service) dropForm(ctx context.Context, key, id string) {
	_ = s.records.DeleteIn(context.WithoutCancel(ctx), records.Forms, key, id)
}

// formsFor is what key's records of forms tell.
type formsFor struct {
	out []formOut
	ids []string // out's record ids
}

// readForms reads key's records of forms: a listing and the records. Every one counts
// (whole), as the declarations do, unless only a tidy-up reads them. A forged record is
// logged and ignored.
func (s *Service) readForms(ctx context.Context, key string, whole bool) (*formsFor, error) {
	list := s.records.ListIn
	if whole {
		list = s.records.ListWholeIn
	}
	entries, forged, err := list(ctx, records.Forms, key)
	if errors.Is(err, records.ErrFolderFull) {
		s.log.Error("forms past what a listing reads: refused", "kind", records.Forms, "key", key)
		err = &errcode.Error{Code: errcode.KeyBusy, Field: "key", Err: err,
			Message: "the forms signed for this key cannot all be read; try again later"}
	}
	if err != nil {
		return nil, err
	}
	for _, path := range forged {
		s.log.Error("record not written by directup: ignored", "kind", records.Forms, "key", key, "path", path)
	}
	f := &formsFor{}
	for _, e := range entries {
		var o formOut
		if json.Unmarshal(e.Body, &o) != nil {
			s.log.Error("form record unreadable: ignored", "kind", records.Forms, "key", key, "id", e.ID)
			continue
		}
		f.out, f.ids = append(f.out, o), append(f.ids, e.ID)
	}
	return f, nil
}

// heldByOthers refuses keys for caller while another caller's form for the key may still
// be posted (a caller that is no one — no authentication — is another to everyone).
// Forms recorded at or before since are not counted: a renewal's, whose caller's keys were
// out then, so those forms met their declaration and were refused (math.MinInt64: all).
func (f *formsFor) heldByOthers(caller string, now, since int64) error {
	for _, o := range f.out {
		if (o.Caller != caller || caller == "") && o.NotAfter >= now && o.NotBefore > since {
			return &errcode.Error{Code: errcode.KeyBusy, Field: "key",
				Message: "a form upload to this key was signed for another caller and may still be posted: temporary keys for it are handed out once it expires"}
		}
	}
	return nil
}

// expired are the ids of records whose form can no longer be posted (to drop).
func (f *formsFor) expired(now int64) []string {
	var ids []string
	for i, o := range f.out {
		if o.NotAfter < now {
			ids = append(ids, f.ids[i])
		}
	}
	return ids
}

// formsSince reads key's records of forms again, once these keys' declaration is kept,
// and refuses while another caller's form recorded after since may still be posted: one
// recorded while the keys were being declared, whose caller may not have met the
// declaration. One round trip more only when the key has records.
func (s *Service) formsSince(ctx context.Context, key, caller string, now, since int64) error {
	f, err := s.readForms(ctx, key, true)
	if err != nil {
		return err
	}
	return f.heldByOthers(caller, now, since)
}

// renewedUntil is, for a renewal, the latest expiry of the caller's keys that make it one
// (math.MinInt64 when it is none): every form recorded until then met those keys'
// declaration (lockedByKeysAt counts a declaration that held when the form was recorded).
func renewedUntil(all []declared, d declared, now int64) int64 {
	until := int64(math.MinInt64)
	for _, o := range all {
		if o.Keys != d.Keys && d.Caller != "" && o.Caller == d.Caller && !o.Pending && o.holds(time.Unix(now, 0)) {
			until = max(until, o.NotAfter)
		}
	}
	return until
}

// formsRoom tidies key's records of forms as a form is recorded and bounds them: past
// tidyAbove records it drops a few of forms expired (up to maxDropped) and refuses the form
// when more than maxForms may still be posted (forms for a key no keys are asked for would
// otherwise pile up until its folder outgrows what a listing reads, and keys for it were
// refused for good). Up to tidyAbove it costs the listing only, sent with the
// declarations' (no round trip more).
func (s *Service) formsRoom(ctx context.Context, key string) error {
	paths, err := s.records.PathsIn(ctx, records.Forms, key)
	if err != nil || len(paths) <= tidyAbove {
		return err
	}
	f, err := s.readForms(ctx, key, false)
	if err != nil {
		return err
	}
	now := s.now().Unix()
	stale := f.expired(now)
	var wg sync.WaitGroup
	for _, id := range stale[:min(len(stale), maxDropped)] {
		wg.Go(func() { s.dropForm(ctx, key, id) })
	}
	wg.Wait()
	if len(f.out)-len(stale) > maxForms {
		return &errcode.Error{Code: errcode.KeyBusy, Field: "key",
			Message: "too many form uploads to this key may still be posted; try again once they expire"}
	}
	return nil
}

const (
	// tidyAbove is how many records of forms a key's folder holds before a form tidies it.
	tidyAbove = 16
	// maxForms bounds the forms for one key that may be posted at once.
	maxForms = 256
)
