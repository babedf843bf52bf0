package upload

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
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
	// caller's and its keys': it is a record of its own among the key's declarations (no
	// other caller's is rewritten) and holds only for an object written while its keys were valid.
	// Keys whose declaration could not be kept are not handed out.
	d := declaredFor(ctx, obj.ContentType, plan.Size, keys, req.Profile, crc)
	d.Disposition = obj.ContentDisposition // attachment for a type a browser runs script in
	d.CustomerKey = obj.Encryption != nil && obj.Encryption.Type == storage.SSEC
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
		if err := s.confirm(ctx, obj.Key, d); err != nil {
			return nil, errors.Join(err, s.undeclare(ctx, obj.Key, d.Keys))
		}
	}
	keys.Bucket, keys.Key = s.store.Bucket(), obj.Key
	keys.ContentType, keys.ContentDisposition = obj.ContentType, obj.ContentDisposition
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
// key template holds {random}: 120 bits), so no other declaration can be there to count
// or renew: its own record is written once, without listing the others (two storage
// round trips fewer).
func (s *Service) declareKeys(ctx context.Context, key string, d declared, generated bool) (renewing bool, err error) {
	switch {
	case s.records == nil:
		return false, nil
	case generated:
		return false, s.records.PutIn(ctx, records.Declared, key, d.Keys, &d)
	}
	return s.declare(ctx, key, d)
}

// lockedByKeys refuses an API upload to a named key another caller holds temporary keys
// for: those keys could list the upload, replace its parts, complete or abort it. Asked
// after the upload started (then aborted), so a racing Keys either sees the upload or
// its declaration is seen here.
func (s *Service) lockedByKeys(ctx context.Context, key string) error {
	return s.lockedByKeysAt(ctx, key, s.now())
}

// lockedByKeysAt is lockedByKeys counting too the declarations that held at since (a
// form's, when its record was made: a renewal does not count forms recorded while the
// caller's keys held, so such a form must meet them even if they expire before this read).
func (s *Service) lockedByKeysAt(ctx context.Context, key string, since time.Time) error {
	if !s.policy.AllowSTS || s.records == nil {
		return nil
	}
	all, err := s.readDeclarations(ctx, key)
	if err != nil {
		return err
	}
	now := s.now()
	for _, d := range all {
		// Until the keys' expiry and three times the skew: an object this upload then
		// writes must lie beyond the declaration's own skew by the store's clock, even with
		// the function's clock that much ahead, or the storage check would take it for the
		// keys'.
		if !d.holds(now) && !d.holds(since) && (now.Unix() < d.NotBefore || now.Unix() > d.NotAfter+3*declarationSkew) {
			continue
		}
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
	// Disposition is the Content-Disposition the object must be stored with ("" any): the
	// request's, or attachment for a type a browser runs script in, as an API upload's.
	Disposition string `json:"disposition,omitempty"`
	// CustomerKey: the request asked for SSE-C, so the object may be unreadable to the
	// check; an object its keys' client encrypted so without asking is deleted.
	CustomerKey bool `json:"customerKey,omitempty"`
	// Pending: the keys are not handed out yet (a named key's request still in its
	// checks). A pending declaration bounds writes and blocks other callers' API uploads
	// like any other, but never makes its caller's next request a renewal.
	Pending bool `json:"pending,omitempty"`
}

// declarations is the single record of one key declarations were kept in before each had
// its own: still read (a rolling upgrade keeps holding what it holds), never written.
type declarations struct {
	Declared []declared `json:"declared"`
}

const (
	// declarationSkew allows for the store's clock against the function's.
	declarationSkew = 5
	// maxDeclarations bounds the keys outstanding for one object key.
	maxDeclarations = 32
	// declarationRetention is how long (seconds) a declaration's record stays once its
	// keys expired: what they wrote just before is still checked against it when the
	// storage-triggered function's event comes late or is retried (the platforms retry
	// within minutes). A key's folder then holds at most the 32 outstanding and those of
	// the last hour's keys: 32 per keys' lifetime (15 min at least), under 200.
	declarationRetention = 3600
)

// holds reports whether d describes an object last modified at t.
func (d *declared) holds(t time.Time) bool {
	return !t.IsZero() && t.Unix() >= d.NotBefore-declarationSkew && t.Unix() <= d.NotAfter+declarationSkew
}

// declare keeps d as its own record in key's folder of declarations: no writer rewrites
// another's, so concurrent callers lose none. The others are listed first: the caller's
// live keys already handed out make this a renewal, and at most maxDeclarations may be
// outstanding. Records of keys expired an hour ago (declarationRetention) are dropped as
// they are seen, a few with each write
// (sent with it: no round trip more), so the folder stays within what a listing reads.
func (s *Service) declare(ctx context.Context, key string, d declared) (renewing bool, err error) {
	now := s.now().Unix()
	var (
		forms    *formsFor
		formsErr error
		reads    sync.WaitGroup
	)
	reads.Go(func() { forms, formsErr = s.readForms(ctx, key, true) }) // at once: no round trip more
	all, folder, expired, err := s.listDeclarations(ctx, key, now)
	reads.Wait()
	if err = errors.Join(err, formsErr); err != nil {
		return false, err
	}
	live := 1
	for _, o := range all {
		if o.Keys == d.Keys {
			continue
		}
		// The caller already holds other live keys for the key: it renews them.
		// Only keys handed out count: a pending declaration is another request's still
		// in its checks (perhaps to be refused), and must not let this one skip them.
		renewing = renewing || (d.Caller != "" && o.Caller == d.Caller && !o.Pending && o.holds(time.Unix(now, 0)))
		if o.NotAfter+declarationSkew >= now {
			live++
		}
	}
	if live > maxDeclarations {
		return false, tooManyKeys()
	}
	// Another caller's form for the key may still be posted: its object would be judged
	// against these keys' declaration. A renewal does not count the forms recorded while
	// the caller's keys were out: they met those keys' declaration and were refused.
	since := renewedUntil(all, d, now)
	if err := forms.heldByOthers(d.Caller, now, since); err != nil {
		return false, err
	}
	// Which ones at random: callers racing on the key would otherwise all drop the same
	// few, and bursts of declarations leave more expired records than they drop, until
	// the folder outgrows what a listing reads.
	rand.Shuffle(len(expired), func(i, j int) { expired[i], expired[j] = expired[j], expired[i] })
	var wg sync.WaitGroup
	for _, id := range expired[:min(len(expired), maxDropped)] {
		// Best effort: a record left is dropped by a later declaration.
		wg.Go(func() { _ = s.records.DeleteIn(context.WithoutCancel(ctx), records.Declared, key, id) })
	}
	stale := forms.expired(now)
	for _, id := range stale[:min(len(stale), maxDropped)] {
		wg.Go(func() { _ = s.records.DeleteIn(context.WithoutCancel(ctx), records.Forms, key, id) })
	}
	err = s.records.PutIn(ctx, records.Declared, key, d.Keys, &d)
	wg.Wait()
	if err != nil {
		return false, err
	}
	// Callers racing on the key each counted the others before their records were
	// written: the folder is listed again now this one's is there (names only: one
	// request), and a declaration that finds more than maxDeclarations outstanding goes.
	// Of racers the last to list sees every record kept, so at most maxDeclarations are.
	// The forms are read again at once: one signed meanwhile either saw this declaration
	// or is seen now.
	var limitErr, formErr error
	var again sync.WaitGroup
	again.Go(func() { limitErr = s.stillWithinLimit(ctx, key, now, all, folder) })
	again.Go(func() { formErr = s.formsSince(ctx, key, d.Caller, now, since) })
	again.Wait()
	if err := cmp.Or(limitErr, formErr); err != nil {
		return false, errors.Join(err, s.undeclare(ctx, key, d.Keys))
	}
	return renewing, nil
}

// stillWithinLimit lists key's folder of declarations again (names only) and refuses when
// more than maxDeclarations may be outstanding: every record the first listing (all, of
// which folder names the folder's) did not show as expired counts (one unseen is a racing
// declaration), and the single record's of before that are live.
func (s *Service) stillWithinLimit(ctx context.Context, key string, now int64, all []declared, folder []string) error {
	paths, err := s.records.PathsIn(ctx, records.Declared, key)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, o := range all {
		if slices.Contains(folder, o.Keys) && o.NotAfter+declarationSkew < now {
			gone[s.records.PathIn(records.Declared, key, o.Keys)] = true
		}
	}
	live := 0
	for _, p := range paths {
		if !gone[p] {
			live++
		}
	}
	for _, o := range all { // the single record's of before (not in the folder)
		if !slices.Contains(folder, o.Keys) && o.NotAfter+declarationSkew >= now {
			live++
		}
	}
	if live > maxDeclarations {
		return tooManyKeys()
	}
	return nil
}

// tooManyKeys refuses a declaration past maxDeclarations outstanding for one key.
func tooManyKeys() error {
	return &errcode.Error{Code: errcode.KeyBusy, Field: "key",
		Message: "too many temporary keys are outstanding for this key; try again once they expire"}
}

// maxDropped bounds the expired records one declaration removes: one round trip's worth.
const maxDropped = 8

// undeclare removes the declaration of the keys named keys (their fingerprint) from key's
// folder: keys that were refused after their declaration was kept never write. Only their
// own record is removed.
func (s *Service) undeclare(ctx context.Context, key, keys string) error {
	if s.records == nil {
		return nil
	}
	return s.records.DeleteIn(context.WithoutCancel(ctx), records.Declared, key, keys)
}

// confirm marks d, declared for key, as handed out (no longer Pending): its own record
// is written again, no other.
func (s *Service) confirm(ctx context.Context, key string, d declared) error {
	d.Pending = false
	return s.records.PutIn(ctx, records.Declared, key, d.Keys, &d)
}

// declarationsFor returns the declarations for key that hold for an object last modified
// at modified, oldest first. A forged record is logged and ignored.
func (s *Service) declarationsFor(ctx context.Context, key string, modified time.Time) ([]declared, error) {
	all, err := s.readDeclarations(ctx, key)
	return heldAt(all, modified), err
}

// readDeclarations reads key's declarations, oldest first (none without records). A
// forged record is logged and ignored.
func (s *Service) readDeclarations(ctx context.Context, key string) ([]declared, error) {
	if s.records == nil {
		return nil, nil
	}
	all, _, _, err := s.listDeclarations(ctx, key, s.now().Unix())
	return all, err
}

// listDeclarations reads key's folder of declarations and, at once, the single record
// declarations were kept in before (merged: never written any more, but what it holds
// still holds), oldest first; folder names the folder's records (their ids), expired those
// of keys expired at now longer ago than declarationRetention (to drop).
// Storage round trips: the listing, then about one per 8 records.
func (s *Service) listDeclarations(ctx context.Context, key string, now int64) (all []declared, folder, expired []string, err error) {
	var (
		entries   []records.Entry
		forged    []string
		old       declarations
		oldErr    error
		wg        sync.WaitGroup
		oldForged bool
	)
	wg.Go(func() {
		_, oldErr = s.records.Get(ctx, records.Declared, key, &old)
		if oldForged = errors.Is(oldErr, records.ErrForged); oldForged {
			old, oldErr = declarations{}, nil
		}
	})
	// Every declaration counts: a folder filled past what a listing reads fails (the
	// request refused, the check retried), never passes with its first records only.
	entries, forged, err = s.records.ListWholeIn(ctx, records.Declared, key)
	if errors.Is(err, records.ErrFolderFull) {
		s.log.Error("declarations past what a listing reads: refused", "kind", records.Declared, "key", key)
		err = &errcode.Error{Code: errcode.KeyBusy, Field: "key", Err: err,
			Message: "the declarations for this key cannot all be read; try again later"}
	}
	wg.Wait()
	if err = errors.Join(err, oldErr); err != nil {
		return nil, nil, nil, err
	}
	if oldForged {
		s.log.Error("record not written by directup: ignored", "kind", records.Declared, "key", key)
	}
	for _, path := range forged {
		s.log.Error("record not written by directup: ignored", "kind", records.Declared, "key", key, "path", path)
	}
	for _, e := range entries {
		var d declared
		if json.Unmarshal(e.Body, &d) != nil || d.Keys != e.ID {
			s.log.Error("declaration unreadable: ignored", "kind", records.Declared, "key", key, "id", e.ID)
			continue
		}
		all, folder = append(all, d), append(folder, e.ID)
		if d.NotAfter+declarationSkew+declarationRetention < now {
			expired = append(expired, e.ID)
		}
	}
	for _, d := range old.Declared {
		if !slices.ContainsFunc(all, func(o declared) bool { return o.Keys == d.Keys }) {
			all = append(all, d)
		}
	}
	// Oldest first, whatever order the folder lists in (its paths are hashes).
	slices.SortStableFunc(all, func(a, b declared) int { return cmp.Compare(a.NotBefore, b.NotBefore) })
	return all, folder, expired, nil
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
		if d := &held[i]; info.Size == d.Size && policy.MediaType(info.ContentType) == policy.MediaType(d.ContentType) && d.checksumHolds(info) && d.dispositionHolds(info) {
			return d
		}
	}
	return nil
}

// dispositionHolds reports whether the object is stored with the declared
// Content-Disposition (or none was declared): the keys' CAM policy cannot pin it, and
// without attachment a scriptable type would be served inline from the bucket's domain.
func (d *declared) dispositionHolds(info storage.ObjectInfo) bool {
	return d.Disposition == "" || strings.TrimSpace(info.ContentDisposition) == d.Disposition
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
