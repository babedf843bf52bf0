package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
)

// A form stays valid for its lifetime, and its object is no open upload that POST /sts
// could list: keys handed out for a named key while another caller's form for it is out
// would meet that form's object and judge it against their declaration (a form's seals
// are bound to its key only, so keys could set them on what they write). So a form for a
// named key is recorded before it is signed (while temporary keys can be handed out), and
// POST /sts reads those records as it reads the declarations: no keys for a key another
// caller holds a form for. The two are ordered as an API upload and keys are: the form's
// record is written before its check of the declarations (lockedByKeys), and a keys'
// declaration is written before it reads the forms again (formsSince), so of a racing form
// and keys request one sees the other.

// formOut records the forms one caller was signed for a named key: the latest any of them
// may still be posted. One record per caller and key, rewritten by each form (its
// NotAfter only grows: every form for the key has its folder's URL lifetime).
type formOut struct {
	Caller   string `json:"caller"`
	NotAfter int64  `json:"notAfter"` // Unix seconds: no form of this record is valid after
}

// formID names a caller's record among a key's forms.
func formID(caller string) string {
	sum := sha256.Sum256([]byte("form\x00" + caller))
	return hex.EncodeToString(sum[:8])
}

// recordForm keeps, before a form for a named key is signed, that the caller holds one
// until ttl from now (the form's own lifetime is at most that) — only where keys can be
// handed out and records are kept.
func (s *Service) recordForm(ctx context.Context, key string, ttl time.Duration) error {
	if !s.policy.AllowSTS || s.records == nil {
		return nil
	}
	// The skew covers the clocks of the instances that rewrite the record.
	f := formOut{Caller: Caller(ctx), NotAfter: s.now().Add(ttl).Unix() + 2*declarationSkew}
	return s.records.PutIn(ctx, records.Forms, key, formID(f.Caller), &f)
}

// formsFor is what key's records of forms tell: each caller's.
type formsFor struct {
	out []formOut
}

// readForms reads key's records of forms (a listing and the records: every one counts,
// as the declarations do). A forged record is logged and ignored.
func (s *Service) readForms(ctx context.Context, key string) (*formsFor, error) {
	entries, forged, err := s.records.ListWholeIn(ctx, records.Forms, key)
	if errors.Is(err, records.ErrFolderFull) {
		s.log.Error("forms past what a listing reads: refused", "kind", records.Forms, "key", key)
		err = &errcode.Error{Code: errcode.KeyBusy, Field: "key", Err: err,
			Message: "the forms signed for this key cannot all be read; try again later"}
	}
	if err != nil {
		return nil, err
	}
	f := &formsFor{}
	for _, path := range forged {
		s.log.Error("record not written by directup: ignored", "kind", records.Forms, "key", key, "path", path)
	}
	for _, e := range entries {
		var o formOut
		if json.Unmarshal(e.Body, &o) != nil || formID(o.Caller) != e.ID {
			s.log.Error("form record unreadable: ignored", "kind", records.Forms, "key", key, "id", e.ID)
			continue
		}
		f.out = append(f.out, o)
	}
	return f, nil
}

// heldByOthers refuses keys for caller while another caller's form for the key may still
// be posted (a caller that is no one — no authentication — is another to everyone).
func (f *formsFor) heldByOthers(caller string, now int64) error {
	for _, o := range f.out {
		if (o.Caller != caller || caller == "") && o.NotAfter >= now {
			return formBusy()
		}
	}
	return nil
}

// expired are the ids of records no form of which can be posted any more (to drop).
func (f *formsFor) expired(now int64) []string {
	var ids []string
	for _, o := range f.out {
		if o.NotAfter < now {
			ids = append(ids, formID(o.Caller))
		}
	}
	return ids
}

// formsSince reads key's records of forms again, once these keys' declaration is kept,
// and refuses while another caller's form may still be posted: one recorded (or a record
// rewritten) while the keys were being declared, whose caller may not have met the
// declaration in lockedByKeys. One round trip more only when the key has such records.
func (s *Service) formsSince(ctx context.Context, key, caller string, now int64) error {
	f, err := s.readForms(ctx, key)
	if err != nil {
		return err
	}
	return f.heldByOthers(caller, now)
}

func formBusy() error {
	return &errcode.Error{Code: errcode.KeyBusy, Field: "key",
		Message: "a form upload to this key was signed for another caller and may still be posted: temporary keys for it are handed out once it expires"}
}
