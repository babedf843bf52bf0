package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/tempkeys"
	"github.com/directup/directup/shared/wire"
)

// Keys checks req exactly as Initiate does — the policy, the hook — and, instead of
// starting an upload, hands out temporary keys scoped to the key it chose
// (UPLOAD_ALLOW_STS). The client's SDK then drives the upload itself: part sizes are not
// pinned, so the storage-triggered function checks what was stored.
func (s *Service) Keys(ctx context.Context, req *policy.InitiateRequest) (*tempkeys.Keys, error) {
	return s.KeysFor(ctx, req, nil)
}

// KeysFor is Keys with the whole object's checksum the client declares for what its keys
// will store (sum; nil none): the storage-triggered function holds the object to it too.
func (s *Service) KeysFor(ctx context.Context, req *policy.InitiateRequest, sum *wire.Checksum) (*tempkeys.Keys, error) {
	if !s.policy.AllowSTS {
		return nil, errcode.Denied("", "this deployment does not hand out temporary keys (UPLOAD_ALLOW_STS): use POST /uploads")
	}
	issuer, ok := s.store.(tempkeys.Issuer)
	if !ok {
		return nil, &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot issue temporary keys"}
	}
	rules, err := s.rulesFor(ctx, req.Profile)
	if err != nil {
		return nil, err
	}
	crc, err := readChecksum(checksum.Of(s.caps.Checksum), rules.RequireChecksum, sum, "request for keys")
	if err != nil {
		return nil, err
	}
	caps := s.caps
	obj, plan, generatedKey, err := s.objectFor(ctx, rules, req)
	if err != nil {
		return nil, err
	}
	if _, _, err := checkHead(rules, req); err != nil {
		return nil, err
	}
	if s.hook != nil {
		if err := s.askHook(ctx, rules, req, obj, plan, false); err != nil {
			return nil, err
		}
	}
	if err := s.inFolder(obj.Key, req.Profile); err != nil {
		return nil, err
	}
	generated := s.unnamed(obj.Key, generatedKey) // nobody but this request knows it
	if obj.ForbidOverwrite && !generated {
		// The keys' SDK upload would replace an object at a key another caller can name
		// (nothing in the keys' policy stops it): only presigned parts keep that promise.
		return nil, errcode.Denied("forbidOverwrite", "temporary keys cannot forbid overwriting a named key: use POST /uploads")
	}
	// The CAM resource is built from the admitted key only (no wildcard, no variable).
	key, err := rules.AdmitKey(obj.Key, caps)
	if err != nil {
		return nil, err
	}
	lister, _ := s.store.(storage.UploadLister)
	if !generated && lister == nil {
		return nil, &errcode.Error{Code: errcode.NotAvailable, Field: "key",
			Message: "this store cannot tell whether an upload to a named key is in progress: temporary keys are for generated keys only"}
	}
	keys, err := issuer.IssueKeys(ctx, tempkeys.Scope{Key: key, ContentType: obj.ContentType, Size: plan.Size, TTL: s.policy.STSTTL})
	if err != nil {
		return nil, err // nothing was recorded: a failed request leaves no trace in the bucket
	}
	// What was declared is recorded beside the upload once the keys exist: with keys, the
	// client's SDK cuts the parts, so only the storage-triggered function can hold the
	// stored object to the declared size and type, after the fact. The declaration is the
	// caller's and its keys': it is added to the key's declarations (never replacing
	// another caller's) and holds only for an object written while its keys were valid.
	// Keys whose declaration could not be kept are not handed out.
	d := declaredFor(ctx, obj.ContentType, plan.Size, keys, req.Profile, crc)
	d.Pending = !generated // a named key's keys are handed out only once the checks below pass
	renewing, err := s.declareKeys(ctx, obj.Key, d, generated)
	if err != nil {
		return nil, err
	}
	// Keys for a key act on every upload to it: none while an API upload to it is open
	// (checked after the declaration is kept, so an initiate racing this one sees one of
	// the two: see lockedByKeys) — unless the caller already held keys for it and renews
	// them as its SDK's upload goes on (keys expire): what is open is then its own, another
	// caller's API upload having been refused while those keys were outstanding.
	if !generated && !renewing {
		open, err := lister.OpenUploads(ctx, obj.Key)
		if err == nil && len(open) > 0 {
			err = &errcode.Error{Code: errcode.KeyBusy, Field: "key",
				Message: "an upload to this key is in progress: temporary keys for it are handed out once it ends"}
		}
		if err != nil {
			// The keys are not handed out: their declaration goes too, or the caller's next
			// request would count as renewing keys it never held and skip this check.
			return nil, errors.Join(err, s.undeclare(ctx, obj.Key, d.Keys))
		}
	}
	if d.Pending && s.records != nil {
		if err := s.confirm(ctx, obj.Key, d.Keys); err != nil {
			return nil, errors.Join(err, s.undeclare(ctx, obj.Key, d.Keys))
		}
	}
	keys.Bucket, keys.Key = s.store.Bucket(), obj.Key
	return keys, nil
}

// declaredFor is what a caller declares for the object its keys will store.
func declaredFor(ctx context.Context, contentType string, size int64, keys *tempkeys.Keys, profile string, crc *declaredSum) declared {
	sum := sha256.Sum256([]byte(keys.SecretID))
	d := declared{Size: size, ContentType: contentType, Caller: Caller(ctx), Keys: hex.EncodeToString(sum[:8]),
		NotBefore: keys.Start.Unix(), NotAfter: keys.Expires.Unix(), Profile: profile}
	if crc != nil {
		d.Checksum = crc.algo.Format(crc.value)
	}
	return d
}

// declareKeys keeps d where the deployment keeps records (declare); without records
// nothing is declared. A generated key is one nobody could name before this call (every
// key template holds {random}: 120 bits), so no other declaration can be there to merge
// with nor race this one: its declaration is written once, without reading it first or
// back (two storage round trips fewer).
func (s *Service) declareKeys(ctx context.Context, key string, d declared, generated bool) (renewing bool, err error) {
	switch {
	case s.records == nil:
		return false, nil
	case generated:
		return false, s.records.Put(ctx, records.Declared, key, &declarations{Declared: []declared{d}})
	}
	return s.declare(ctx, key, d)
}

// lockedByKeys refuses an API upload to a named key another caller holds temporary keys
// for: those keys could list the upload, replace its parts, complete or abort it. Asked
// after the upload started (then aborted), so a racing Keys either sees the upload or
// its declaration is seen here.
func (s *Service) lockedByKeys(ctx context.Context, key string) error {
	if !s.policy.AllowSTS || s.records == nil {
		return nil
	}
	held, err := s.declarationsFor(ctx, key, s.now())
	if err != nil {
		return err
	}
	for _, d := range held {
		if d.Caller != Caller(ctx) || d.Caller == "" {
			return &errcode.Error{Code: errcode.KeyBusy, Field: "key",
				Message: "temporary keys for this key are outstanding: upload to it once they expire, or to another key"}
		}
	}
	return nil
}

// declared is what a caller declared for an object key when it was handed temporary keys
// for it (Keys names their fingerprint).
type declared struct {
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	Caller      string `json:"caller"`
	Keys        string `json:"keys"` // first 8 bytes of SHA-256(SecretId), hex
	// The declaration holds for an object last modified in [NotBefore, NotAfter] (Unix
	// seconds, with declarationSkew either side): while its keys were valid.
	NotBefore int64 `json:"notBefore"`
	NotAfter  int64 `json:"notAfter"`
	// Profile is the profile the keys were issued under: its rules hold the object.
	Profile string `json:"profile,omitempty"`
	// Checksum is the whole object's checksum the caller declared, in the store's
	// algorithm and form (COS: crc64ecma, decimal); "" none.
	Checksum string `json:"checksum,omitempty"`
	// Pending: the keys are not handed out yet (a named key's request still in its
	// checks). A pending declaration bounds writes and blocks other callers' API uploads
	// like any other, but never makes its caller's next request a renewal.
	Pending bool `json:"pending,omitempty"`
}

// declarations is the record of one key: every declaration whose keys may still write.
type declarations struct {
	Declared []declared `json:"declared"`
}

const (
	// declarationSkew allows for the store's clock against the function's.
	declarationSkew = 5
	// maxDeclarations bounds the keys outstanding for one object key.
	maxDeclarations = 32
)

// holds reports whether d describes an object last modified at t.
func (d *declared) holds(t time.Time) bool {
	return !t.IsZero() && t.Unix() >= d.NotBefore-declarationSkew && t.Unix() <= d.NotAfter+declarationSkew
}

// declare adds d to key's declarations, dropping those whose keys expired. Two callers
// declaring at once may each write over the other's addition: the write is read back and
// merged again until d is there (a few rounds at most), so no declaration is lost.
func (s *Service) declare(ctx context.Context, key string, d declared) (renewing bool, err error) {
	now := s.now().Unix()
	for range 4 {
		var all declarations
		if _, err := s.records.Get(ctx, records.Declared, key, &all); err != nil && !errors.Is(err, records.ErrForged) {
			return false, err
		}
		kept := []declared{d}
		renewing = false
		for _, o := range all.Declared {
			// The caller already holds other live keys for the key: it renews them.
			// Only keys handed out count: a pending declaration is another request's still
			// in its checks (perhaps to be refused), and must not let this one skip them.
			renewing = renewing || (d.Caller != "" && o.Caller == d.Caller && o.Keys != d.Keys && !o.Pending && o.holds(time.Unix(now, 0)))
			if o.NotAfter+declarationSkew >= now && o.Keys != d.Keys {
				kept = append(kept, o)
			}
		}
		if len(kept) > maxDeclarations {
			return false, &errcode.Error{Code: errcode.KeyBusy, Field: "key",
				Message: "too many temporary keys are outstanding for this key; try again once they expire"}
		}
		slices.SortFunc(kept, func(a, b declared) int { return int(a.NotBefore - b.NotBefore) })
		if err := s.records.Put(ctx, records.Declared, key, &declarations{Declared: kept}); err != nil {
			return false, err
		}
		var back declarations
		if _, err := s.records.Get(ctx, records.Declared, key, &back); err != nil {
			return false, err
		}
		if slices.ContainsFunc(back.Declared, func(o declared) bool { return o.Keys == d.Keys }) {
			return renewing, nil
		}
	}
	return false, &errcode.Error{Code: errcode.KeyBusy, Field: "key",
		Message: "temporary keys for this key are being issued concurrently; try again"}
}

// undeclare removes the declaration of the keys named keys (their fingerprint) from key's
// record: keys that were refused after their declaration was kept never write. Read back
// like declare, so a concurrent declaration is merged rather than lost.
func (s *Service) undeclare(ctx context.Context, key, keys string) error {
	if s.records == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	for range 4 {
		var all declarations
		if _, err := s.records.Get(ctx, records.Declared, key, &all); err != nil && !errors.Is(err, records.ErrForged) {
			return err
		}
		kept := slices.DeleteFunc(slices.Clone(all.Declared), func(o declared) bool { return o.Keys == keys })
		if len(kept) == len(all.Declared) {
			return nil
		}
		if err := s.records.Put(ctx, records.Declared, key, &declarations{Declared: kept}); err != nil {
			return err
		}
	}
	return nil
}

// confirm marks the declaration of keys on key as handed out (no longer Pending), merging
// as declare does, until it reads back so.
func (s *Service) confirm(ctx context.Context, key, keys string) error {
	for range 4 {
		var all declarations
		if _, err := s.records.Get(ctx, records.Declared, key, &all); err != nil && !errors.Is(err, records.ErrForged) {
			return err
		}
		i := slices.IndexFunc(all.Declared, func(o declared) bool { return o.Keys == keys })
		switch {
		case i < 0:
			return &errcode.Error{Code: errcode.KeyBusy, Field: "key", Message: "temporary keys for this key are being issued concurrently; try again"}
		case !all.Declared[i].Pending:
			return nil
		}
		all.Declared[i].Pending = false
		if err := s.records.Put(ctx, records.Declared, key, &all); err != nil {
			return err
		}
	}
	return &errcode.Error{Code: errcode.KeyBusy, Field: "key", Message: "temporary keys for this key are being issued concurrently; try again"}
}

// declarationsFor returns the declarations for key that hold for an object last modified
// at modified, oldest first. A forged record is logged and ignored.
func (s *Service) declarationsFor(ctx context.Context, key string, modified time.Time) ([]declared, error) {
	all, err := s.readDeclarations(ctx, key)
	return heldAt(all, modified), err
}

// readDeclarations reads key's declarations (none without records). A forged record is
// logged and ignored.
func (s *Service) readDeclarations(ctx context.Context, key string) ([]declared, error) {
	if s.records == nil {
		return nil, nil
	}
	var all declarations
	_, err := s.records.Get(ctx, records.Declared, key, &all)
	if errors.Is(err, records.ErrForged) {
		s.log.Error("record not written by directup: ignored", "kind", records.Declared, "key", key, "error", err.Error())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return all.Declared, nil
}

// heldAt is those of all that hold for an object last modified at modified.
func heldAt(all []declared, modified time.Time) []declared {
	var held []declared
	for _, d := range all {
		if d.holds(modified) {
			held = append(held, d)
		}
	}
	return held
}

// matching is the newest of held that info's size and type meet, or nil.
func matching(held []declared, info storage.ObjectInfo) *declared {
	for i := len(held) - 1; i >= 0; i-- {
		if d := &held[i]; info.Size == d.Size && policy.MediaType(info.ContentType) == policy.MediaType(d.ContentType) && d.checksumHolds(info) {
			return d
		}
	}
	return nil
}

// checksumHolds reports whether the object's checksum is the declared one (or none was
// declared). Only COS's crc64ecma can be declared for keys: S3 hands out none.
func (d *declared) checksumHolds(info storage.ObjectInfo) bool {
	if d.Checksum == "" {
		return true
	}
	want, ok := checksum.ECMA.Parse(d.Checksum)
	got, gok := checksum.ECMA.Parse(info.CRC64)
	return ok && gok && want == got
}
