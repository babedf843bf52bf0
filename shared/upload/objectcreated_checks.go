package upload

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
)

// createdObject is an object ObjectCreated checks: what storage reports of it, the event
// its outcome is told in, and what names its write (an API write's id, or the fingerprint
// of the temporary keys that cover it).
type createdObject struct {
	key   string
	info  storage.ObjectInfo
	ev    *events.Event
	write string    // the API write's id; empty when no API upload wrote it
	keys  string    // the temporary keys' fingerprint, once a declaration names them
	decl  *declared // that declaration
	head  []byte    // its first bytes, when the first read fetched them
	// declared are the temporary keys' declarations for the key, read with the object
	// (all of them; declaredErr if that read failed).
	declared    []declared
	declaredErr error
	declaredAt  time.Time // when that read began: declarations kept since are not among them
	form        bool      // a form upload's seal: the API bounded it, nothing checked its content yet
	open        bool      // an API seal for an upload of undeclared size
	recorded    bool      // an API seal whose complete records what it stored
	// rules are the profile's the object was uploaded under (its sealed write value, or
	// its temporary keys' declaration, says which), else the deployment's.
	rules *policy.Policy
}

// newCreatedObject starts the check of an object: its completed event, and its write's id
// when its sealed write value shows the API wrote it.
func (s *Service) newCreatedObject(key string, info storage.ObjectInfo) *createdObject {
	ev := &events.Event{Type: events.Completed, Bucket: s.store.Bucket(), Key: key, Size: info.Size, ETag: info.ETag,
		CRC64: info.CRC64, CRC64NVME: info.CRC64NVME, ContentType: info.ContentType, Metadata: userMetadata(info.Metadata), Source: "storage"}
	write := info.Metadata[policy.WriteMetadata]
	// The rules are those of the folder the object lies in; a seal counts only if it was
	// made for that very profile (a seal is readable, and may be copied onto other bytes).
	owner, _ := s.folders.Owner(key)
	seal, ok := s.apiWrite(key, info)
	if ok && seal.profile == owner {
		write = write[:writeIDLen] // the write's id, as the token names it
	} else {
		write, seal = "", sealed{} // not an API upload's: a client's (temporary keys), or written outside directup
	}
	ev.Profile = owner
	return &createdObject{key: key, info: info, ev: ev, write: write, form: seal.form, open: seal.open, recorded: seal.recorded, rules: s.rulesNamed(owner)}
}

// verdict runs the checks in order — size, temporary keys' declarations, content — and
// returns the first refusal's reason ("" if the object passes all).
// The declarations come first: the one that holds names the profile the size is held to.
func (s *Service) verdict(ctx context.Context, o *createdObject) (string, error) {
	if o.write != "" && !o.form && o.recorded && s.records != nil {
		if reason, err := s.recordedVerdict(ctx, o); err != nil || reason != "" {
			return reason, err
		}
	} else if o.write != "" && !o.form {
		if reason, err := s.sealedUnderKeys(ctx, o); err != nil || reason != "" {
			return reason, err
		}
		if matching(writtenByKeys(o.declared, o.info, o.ev.Profile), o.info) != nil {
			// A seal of before records: what keys declared, written once they existed, is
			// theirs whatever seal it carries.
			o.write = ""
		}
	}
	if o.write == "" || o.form {
		// A form's seals are bound to its key only, and keys for the key can set them on
		// what they write: a form's object is held to the keys' declarations that hold too.
		if reason, err := s.declaredVerdict(ctx, o); err != nil || reason != "" {
			return reason, err
		}
		if o.decl != nil && o.info.CustomerKeyEncrypted && !o.decl.CustomerKey {
			// The keys' client encrypted it with a key of its own choosing, unasked: its
			// content could not be checked.
			return "the object was encrypted with a customer's key its keys' request did not ask for, so its content cannot be checked; it was deleted", nil
		}
		if o.keys != "" {
			// The keys' policy pins type and length only: their SDK chose the class (an
			// archive class could not even be read back to check its content).
			if reason := classRefused(o); reason != "" {
				return reason, nil
			}
		}
	}
	if o.write == "" { // a form's grants are addedSettings'
		if reason, err := s.keysGrants(ctx, o); err != nil || reason != "" {
			return reason, err
		}
	}
	if o.info.Size > o.rules.MaxSize {
		return "the object is larger than this deployment's limit of " + strconv.FormatInt(o.rules.MaxSize, 10) + " bytes; it was deleted", nil
	}
	if o.info.Size < o.rules.MinSize {
		return "the object is smaller than this deployment's minimum of " + strconv.FormatInt(o.rules.MinSize, 10) + " bytes; it was deleted", nil
	}
	if o.form && o.info.CustomerKeyEncrypted {
		// A form directup signed never asks for SSE-C: fields a client added (COS takes
		// fields its policy does not name) must not hide the content from the check.
		return "the object was encrypted with a customer's key its form did not ask for, so its content cannot be checked; it was deleted", nil
	}
	if o.form {
		if reason, err := s.addedSettings(ctx, o.key, o.info); err != nil || reason != "" {
			return reason, err
		}
	}
	if missing := o.rules.MissingMetadata(o.info.Metadata); missing != "" {
		return "the object lacks the required metadata " + missing + "; it was deleted", nil
	}
	if o.rules.VerifyContent && !o.info.CustomerKeyEncrypted {
		return s.contentVerdict(ctx, o)
	}
	return "", nil
}

// recordedVerdict tells whether the object o's recorded seal names is that upload's: the
// object its complete recorded (its ETag and settings), or, with no record there (its
// complete could not write one), one written while no temporary keys for its key held —
// nothing else could have written it. Anything else carries a copy of the seal, and is
// held to the keys' declarations (o.write cleared). A young object whose record may still
// be on its way, written while keys held, is checked again later (errRecordPending).
func (s *Service) recordedVerdict(ctx context.Context, o *createdObject) (string, error) {
	if o.declaredErr != nil {
		return "", o.declaredErr
	}
	rec, err := s.storedRecord(ctx, o.key, o.write)
	if err != nil {
		return "", err
	}
	held := o.heldDeclarations()
	if rec == nil && len(held) == 0 && o.info.LastModified.Unix() >= o.declaredAt.Unix()-declarationSkew {
		// Keys declared after the declarations were read may have written it.
		if o.declared, err = s.readDeclarations(ctx, o.key); err != nil {
			return "", err
		}
		held = o.heldDeclarations()
	}
	if rec == nil && len(held) > 0 {
		if rec, err = s.awaitRecord(ctx, o.key, o.write, o.info); err != nil {
			return "", err
		}
		if rec == nil && s.young(o.info) {
			return "", errRecordPending
		}
	}
	switch {
	case rec != nil && rec.binds(o.info):
		if len(held) > 0 {
			// Keys can rebuild its very object with grants of their own.
			return s.grantsVerdict(ctx, o)
		}
	case rec != nil || len(held) > 0:
		o.write = "" // a copy of the seal: the keys' write, held to their declaration
	}
	return "", nil
}

// storedClass is the storage class a store reports for an object, STANDARD when it names
// none (COS leaves the header out for its default class).
func storedClass(info storage.ObjectInfo) string {
	if info.StorageClass == "" {
		return "STANDARD"
	}
	return strings.ToUpper(info.StorageClass)
}

// classRefused is why o's storage class is refused ("" when the rules allow it).
func classRefused(o *createdObject) string {
	if class := storedClass(o.info); !classAllowed(o.rules, class) {
		return "the object is stored in class " + class + ", which these rules do not allow; it was deleted"
	}
	return ""
}

// classAllowed reports whether rules let an object be stored in class; MAZ_STANDARD is
// the default class of a multi-AZ bucket (no client can choose it elsewhere), so it counts
// as STANDARD does.
func classAllowed(rules *policy.Policy, class string) bool {
	if class == "MAZ_STANDARD" && slices.Contains(rules.AllowedStorageClasses, "STANDARD") {
		return true
	}
	return slices.Contains(rules.AllowedStorageClasses, class)
}

// keysGrants refuses an object written with temporary keys that grants access to anyone
// but the bucket's owner beyond what the rules allow: the keys' CAM policy pins type and
// length only, so their SDK could make the object public (x-cos-acl, x-cos-grant-*). Each
// grant is held to the rules as an API upload's request is: to an account only with
// grants allowed, to a group only READ by the canned ACL the rules allow for it.
func (s *Service) keysGrants(ctx context.Context, o *createdObject) (string, error) {
	if o.keys == "" {
		return "", nil
	}
	return s.grantsVerdict(ctx, o)
}

// grantsVerdict refuses an object that grants access beyond what the rules allow.
func (s *Service) grantsVerdict(ctx context.Context, o *createdObject) (string, error) {
	gr, ok := s.store.(storage.GrantReader)
	if !ok {
		return "", nil
	}
	others, err := gr.OthersGrants(ctx, o.key)
	if err != nil || !slices.ContainsFunc(others, func(g storage.Grant) bool { return !grantAllowed(o.rules, g) }) {
		return "", err
	}
	return "the object grants access to others (an ACL or grant its keys' client set; these rules allow none such); it was deleted", nil
}

// sealedUnderKeys holds an object a seal of before records names, written while temporary keys
// for its key were valid, to what every API upload keeps: a seal is readable, so keys can
// copy one (of their caller's own upload at the key, or an open upload's, good for any
// size) onto what they write, and would escape their declaration and the rules with it.
// An API upload always keeps the rules' storage classes and grants, and a type a browser
// runs script in is stored as an attachment unless its request asked otherwise; an open
// seal is held to the declarations' sizes, and an SSE-C object to a declaration that
// asked for it. What an honest API upload might fail here (its own request's inline
// disposition or SSE-C, an open upload) needs keys another caller was handed within a
// second of its complete.
func (s *Service) sealedUnderKeys(ctx context.Context, o *createdObject) (string, error) {
	if o.declaredErr != nil {
		return "", o.declaredErr
	}
	held := o.heldDeclarations()
	if len(held) == 0 {
		return "", nil
	}
	if reason := classRefused(o); reason != "" {
		return reason, nil
	}
	if policy.Scriptable(policy.MediaType(o.info.ContentType)) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(o.info.ContentDisposition)), "attachment") &&
		!slices.ContainsFunc(held, func(d declared) bool {
			return d.Disposition == strings.TrimSpace(o.info.ContentDisposition) && d.Disposition != ""
		}) {
		return "the object, of a type a browser runs script in, is not stored as an attachment; it was deleted", nil
	}
	if o.open && !slices.ContainsFunc(held, func(d declared) bool { return d.Size == o.info.Size }) {
		return "the object holds " + strconv.FormatInt(o.info.Size, 10) + " bytes, which no declaration of the temporary keys valid when it was written declared; it was deleted", nil
	}
	if o.info.CustomerKeyEncrypted && !slices.ContainsFunc(held, func(d declared) bool { return d.CustomerKey }) {
		return "the object was encrypted with a customer's key while temporary keys for its key were out, so its content cannot be checked; it was deleted", nil
	}
	return s.grantsVerdict(ctx, o)
}

// groupACLs are the canned ACLs that grant a group (COS's URIs) READ.
var groupACLs = map[string]string{
	"http://cam.qcloud.com/groups/global/AllUsers":           "public-read",
	"http://cam.qcloud.com/groups/global/AuthenticatedUsers": "authenticated-read",
}

// grantAllowed reports whether rules let an upload give g.
func grantAllowed(rules *policy.Policy, g storage.Grant) bool {
	if g.URI == "" {
		return rules.AllowGrants
	}
	acl, ok := groupACLs[g.URI]
	return ok && g.Permission == "READ" && slices.Contains(rules.AllowedACLs, acl)
}

// declaredVerdict holds an object no API upload wrote to what was declared for the
// temporary keys valid when it was written, and names those keys and their caller.
func (s *Service) declaredVerdict(ctx context.Context, o *createdObject) (string, error) {
	// Written with temporary keys, perhaps: held to what was declared for keys valid
	// when it was written — any one of them (several callers may hold keys for one
	// client key; each declaration bounds what its keys may leave).
	if o.declaredErr != nil {
		return "", o.declaredErr
	}
	held := o.heldDeclarations()
	d := matching(held, o.info)
	if d == nil && !o.form && o.info.LastModified.Unix() >= o.declaredAt.Unix()-declarationSkew {
		// The declarations were read with the object, perhaps before it was written: keys
		// declared since (a declaration is kept before its keys exist) may have written
		// it. Read again now the object was read, before it passes unchecked or is deleted.
		all, err := s.readDeclarations(ctx, o.key)
		if err != nil {
			return "", err
		}
		o.declared = all
		held = o.heldDeclarations()
		d = matching(held, o.info)
	}
	if len(held) == 0 {
		return "", nil
	}
	if d == nil {
		d = &held[len(held)-1] // the newest names the refusal
		if d.Caller != "" {
			o.ev.Caller = d.Caller
		}
		o.keys, o.decl = d.Keys, d
		if o.info.Size != d.Size {
			return "the object holds " + strconv.FormatInt(o.info.Size, 10) + " bytes, not the " + strconv.FormatInt(d.Size, 10) + " declared for its keys; it was deleted", nil
		}
		sameType := policy.MediaType(o.info.ContentType) == policy.MediaType(d.ContentType)
		if !d.checksumHolds(o.info) && sameType {
			return errcode.ChecksumMismatch + ": the object's crc64ecma is " + o.info.CRC64 + ", not the " + d.Checksum + " declared for its keys; it was deleted", nil
		}
		if !d.dispositionHolds(o.info) && sameType {
			return "the object is stored with Content-Disposition " + strconv.Quote(o.info.ContentDisposition) + ", not the " + strconv.Quote(d.Disposition) + " declared for its keys; it was deleted", nil
		}
		return "the object is stored as " + policy.MediaType(o.info.ContentType) + ", not the " + policy.MediaType(d.ContentType) + " declared for its keys; it was deleted", nil
	}
	o.keys, o.decl = d.Keys, d
	if d.Caller != "" {
		o.ev.Caller = d.Caller // who declared it, the only caller the bucket can name
	}
	return "", nil
}

// heldDeclarations are those of o's declarations that hold for it: made while it was
// written, under its folder's own profile (only those keys could write there).
func (o *createdObject) heldDeclarations() []declared {
	return heldFor(o.declared, o.info, o.ev.Profile)
}

// heldFor are those of all that hold for an object written as info tells, under profile.
func heldFor(all []declared, info storage.ObjectInfo, profile string) []declared {
	var held []declared
	for _, d := range heldAt(all, info.LastModified) {
		if d.Profile == profile {
			held = append(held, d)
		}
	}
	return held
}

// writtenByKeys are those of all that hold for the object info tells whose keys existed
// when it was written (no skew before: a write older than the keys is none of theirs, so an
// API upload completed before another caller's keys for its key stays that upload's).
func writtenByKeys(all []declared, info storage.ObjectInfo, profile string) []declared {
	var by []declared
	for _, d := range heldFor(all, info, profile) {
		if info.LastModified.Unix() >= d.NotBefore {
			by = append(by, d)
		}
	}
	return by
}

// contentVerdict checks the object's first bytes against its declared type, noting the
// detected type in its event.
func (s *Service) contentVerdict(ctx context.Context, o *createdObject) (string, error) {
	head := o.head
	if head == nil {
		var err error
		if head, _, err = s.objects.ReadHead(ctx, o.key, policy.HeadBytes); err != nil {
			return "", err
		}
	}
	detected, ok := o.rules.ContentVerdict(o.info.ContentType, head)
	o.ev.DetectedType = detected
	if !ok {
		return errcode.ContentMismatch + ": the stored content is " + detected + ", not the declared " + policy.MediaType(o.info.ContentType) + "; the object was deleted", nil
	}
	return "", nil
}

// rejectObject deletes an object that contradicts its declaration, then tells its
// rejection, recording it when it cannot be told.
func (s *Service) rejectObject(ctx context.Context, o *createdObject, reason string) error {
	// Deleted first (what contradicts its declaration is not left in the bucket while
	// an endpoint is down); a rejection that cannot be told is recorded, and the
	// platform's retry, finding the object gone, tells it from the record.
	if err := s.removeObject(ctx, o.key); err != nil {
		return err
	}
	o.ev.Type, o.ev.Reason = events.Rejected, reason
	identify(o.ev, o.write, o.keys, o.info.LastModified)
	err := s.tell(ctx, o.ev)
	if s.records != nil && err != nil {
		if rerr := s.records.Put(ctx, records.Rejected, o.key, &rejection{Event: *o.ev}); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}
