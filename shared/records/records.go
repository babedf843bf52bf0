// Package records is the one way directup keeps its own small records in the bucket — the
// queue's idempotency markers, what a client declared for temporary keys, forms signed for
// named keys, the objects API uploads stored, rejections not yet told, removals not yet done — under "<prefix>.directup/<kind>/<sha256(subject)>".
//
// Anyone who may write under the prefix can write an object there (a client with
// temporary keys, another deployment, a misconfigured role), so every record is sealed:
// an HMAC-SHA256, keyed from the deployment's secret, over its kind, the subject it
// describes and its body. Get refuses a record that fails (ErrForged) — the caller never
// acts on it or tells it — and a record moved to another subject's or kind's path fails
// too, since both are inside the MAC.
package records

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/signed"
)

// Store keeps small objects: the COS and S3 clients (and the local store through them).
type Store interface {
	// PutMarker writes body at key only if no object is there, and reports whether this
	// call created it (of two racing writers exactly one wins).
	PutMarker(ctx context.Context, key string, body []byte) (created bool, err error)
	// PutRecord writes body at key, replacing what is there.
	PutRecord(ctx context.Context, key string, body []byte) error
	// GetMarker reads the object at key; ok is false when there is none.
	GetMarker(ctx context.Context, key string) (body []byte, ok bool, err error)
	// Delete removes the object at key (none there is not an error).
	Delete(ctx context.Context, key string) error
}

// Kind names what a record is about; each kind has its own folder.
type Kind string

// The kinds directup keeps.
const (
	Request  Kind = "requests" // a processed queue message's result (subject: action and requestId)
	Declared Kind = "declared" // what was declared for an object key's upload (subject: the key)
	Rejected Kind = "rejected" // a rejection of an object key not yet told or not yet removed
	Open     Kind = "open"     // an upload in progress, in its caller's folder (subject: the upload id)
	Forms    Kind = "forms"    // forms signed for a named key, one per caller (subject: the key)
	Stored   Kind = "stored"   // the object an API upload's complete stored (subject: the key and the write's id)
)

// KeyLister is a store that lists the object keys under a prefix: folders of records
// (ListIn) need it.
type KeyLister interface {
	// ListKeys lists the first max keys under prefix, in key order.
	ListKeys(ctx context.Context, prefix string, max int) ([]string, error)
}

// Dir is the folder, under the key prefix, where the records live. No upload may write there.
const Dir = ".directup"

// ErrForged: the object at a record's path was not sealed by this deployment for that
// kind and subject.
var ErrForged = errors.New("records: a record there was not written by directup")

// Book reads and writes the records of one deployment.
type Book struct {
	store  Store
	prefix string
	keys   signed.Keys // records are sealed with the signing key; a verify-only one still reads
}

// New returns the book of records under prefix, sealed with a key derived from secret
// (the upload-token secret serves: the derivation gives records a key of their own).
func New(store Store, prefix string, secret []byte) *Book {
	return NewKeys(store, prefix, signed.Fixed(secret))
}

// NewKeys is New with keys that may rotate: a record sealed before a rotation still reads.
func NewKeys(store Store, prefix string, keys signed.Keys) *Book {
	return &Book{store: store, prefix: prefix, keys: signed.Derived(keys, "directup records v1")}
}

// Path is the object key of the record of kind about subject.
func (b *Book) Path(kind Kind, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return b.prefix + Dir + "/" + string(kind) + "/" + hex.EncodeToString(sum[:])
}

// sealed is a record as stored.
type sealed struct {
	Kind    Kind            `json:"kind"`
	Subject string          `json:"subject"`
	Body    json.RawMessage `json:"body"`
	MAC     string          `json:"mac"`
}

func mac(key []byte, kind Kind, subject string, body []byte) string {
	m := hmac.New(sha256.New, key)
	// Lengths first: no kind, subject and body can be re-cut into another triple.
	fmt.Fprintf(m, "%d:%s\n%d:%s\n", len(kind), kind, len(subject), subject)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (b *Book) sealMAC(kind Kind, subject string, body []byte) string {
	key, _ := b.keys.Keys()
	if len(key) == 0 {
		panic("records: no key yet (a secret from a store is read before use)")
	}
	return mac(key, kind, subject, body)
}

// verifies reports whether got is the record's MAC under the signing key or a verify-only one.
func (b *Book) verifies(got string, kind Kind, subject string, body []byte) bool {
	key, previous := b.keys.Keys()
	for _, k := range append([][]byte{key}, previous...) {
		if len(k) > 0 && hmac.Equal([]byte(got), []byte(mac(k, kind, subject, body))) {
			return true
		}
	}
	return false
}

func (b *Book) seal(kind Kind, subject string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sealed{Kind: kind, Subject: subject, Body: body, MAC: b.sealMAC(kind, subject, body)})
}

// Create writes the record of kind about subject unless one is there already, and reports
// whether this call wrote it.
func (b *Book) Create(ctx context.Context, kind Kind, subject string, v any) (created bool, err error) {
	js, err := b.seal(kind, subject, v)
	if err != nil {
		return false, err
	}
	return b.store.PutMarker(ctx, b.Path(kind, subject), js)
}

// Put writes the record of kind about subject, replacing any earlier one.
func (b *Book) Put(ctx context.Context, kind Kind, subject string, v any) error {
	js, err := b.seal(kind, subject, v)
	if err != nil {
		return err
	}
	return b.store.PutRecord(ctx, b.Path(kind, subject), js)
}

// Get reads the record of kind about subject into v. found is false when there is none;
// a record that is not this deployment's seal over exactly this kind and subject is
// ErrForged (wrapped with its path), and v is left alone.
func (b *Book) Get(ctx context.Context, kind Kind, subject string, v any) (found bool, err error) {
	path := b.Path(kind, subject)
	raw, ok, err := b.store.GetMarker(ctx, path)
	if err != nil || !ok {
		return false, err
	}
	var s sealed
	if json.Unmarshal(raw, &s) != nil || s.Kind != kind || s.Subject != subject ||
		!b.verifies(s.MAC, kind, subject, s.Body) {
		return true, fmt.Errorf("%w (%s)", ErrForged, path)
	}
	if err := json.Unmarshal(s.Body, v); err != nil {
		return true, fmt.Errorf("%w (%s): %v", ErrForged, path, err)
	}
	return true, nil
}

// Delete removes the record of kind about subject.
func (b *Book) Delete(ctx context.Context, kind Kind, subject string) error {
	return b.store.Delete(ctx, b.Path(kind, subject))
}

// Folders: records of one kind grouped by an owner (a caller), so the owner's can be
// listed — "<prefix>.directup/<kind>/<sha256(owner)>/<sha256(id)>", sealed over the kind,
// the owner and the id together, so a record moved to another owner's folder or id fails.

// inFolder is the subject a folder record is sealed over: the owner's length first, so no
// owner and id can be re-cut into another pair.
func inFolder(owner, id string) string { return strconv.Itoa(len(owner)) + ":" + owner + id }

// outOfFolder splits what inFolder joined.
func outOfFolder(subject string) (owner, id string, ok bool) {
	n, rest, ok := strings.Cut(subject, ":")
	l, err := strconv.Atoi(n)
	if !ok || err != nil || l < 0 || l > len(rest) {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}

func (b *Book) folder(kind Kind, owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return b.prefix + Dir + "/" + string(kind) + "/" + hex.EncodeToString(sum[:]) + "/"
}

// PathIn is the object key of owner's record id of kind.
func (b *Book) PathIn(kind Kind, owner, id string) string {
	sum := sha256.Sum256([]byte(id))
	return b.folder(kind, owner) + hex.EncodeToString(sum[:])
}

// PutIn writes owner's record id of kind, replacing any earlier one.
func (b *Book) PutIn(ctx context.Context, kind Kind, owner, id string, v any) error {
	js, err := b.seal(kind, inFolder(owner, id), v)
	if err != nil {
		return err
	}
	return b.store.PutRecord(ctx, b.PathIn(kind, owner, id), js)
}

// DeleteIn removes owner's record id of kind.
func (b *Book) DeleteIn(ctx context.Context, kind Kind, owner, id string) error {
	return b.store.Delete(ctx, b.PathIn(kind, owner, id))
}

// Entry is one record of a folder: its id and its body.
type Entry struct {
	ID   string
	Body json.RawMessage
}

// ListIn returns owner's records of kind (one listing, then one read each). Objects in the
// folder that are not this deployment's seal of owner's record at their own path are
// skipped and returned in forged (their paths), never as entries.
func (b *Book) ListIn(ctx context.Context, kind Kind, owner string) (entries []Entry, forged []string, err error) {
	return b.listIn(ctx, kind, owner, false)
}

// ErrFolderFull: a folder holds more objects than a listing reads (MaxInFolder).
var ErrFolderFull = errors.New("records: the folder holds more objects than a listing reads")

// ListWholeIn is ListIn for a folder whose every record counts (one missed is a guarantee
// lost): a folder holding more than MaxInFolder objects is ErrFolderFull, not its first ones.
func (b *Book) ListWholeIn(ctx context.Context, kind Kind, owner string) (entries []Entry, forged []string, err error) {
	return b.listIn(ctx, kind, owner, true)
}

func (b *Book) listIn(ctx context.Context, kind Kind, owner string, whole bool) (entries []Entry, forged []string, err error) {
	lister, ok := b.store.(KeyLister)
	if !ok {
		return nil, nil, errors.New("records: this store cannot list records")
	}
	// Anyone who may write under the prefix could fill a folder: its owner's listing reads
	// the first MaxInFolder (and tells, when whole, that there are more).
	paths, err := lister.ListKeys(ctx, b.folder(kind, owner), MaxInFolder+1)
	if err != nil {
		return nil, nil, err
	}
	if len(paths) > MaxInFolder {
		if whole {
			return nil, nil, fmt.Errorf("%w (%s)", ErrFolderFull, b.folder(kind, owner))
		}
		paths = paths[:MaxInFolder]
	}
	// Read 8 at a time: a caller's folder costs its listing and about one round trip per
	// 8 records. A read that failed for now fails the listing.
	type read struct {
		entry  *Entry
		forged bool
	}
	reads := make([]read, len(paths))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, path := range paths {
		g.Go(func() error {
			entry, forged, err := b.readIn(gctx, kind, owner, path)
			if err != nil && transient(err) {
				return err
			}
			// Unreadable for good (an object put there encrypted, archived): not a record.
			reads[i] = read{entry, forged || err != nil}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i, r := range reads {
		switch {
		case r.forged:
			forged = append(forged, paths[i])
		case r.entry != nil:
			entries = append(entries, *r.entry)
		}
	}
	return entries, forged, nil
}

// PathsIn lists the paths of owner's records of kind (the listing only: nothing is read
// or verified), the first MaxInFolder.
func (b *Book) PathsIn(ctx context.Context, kind Kind, owner string) ([]string, error) {
	lister, ok := b.store.(KeyLister)
	if !ok {
		return nil, errors.New("records: this store cannot list records")
	}
	return lister.ListKeys(ctx, b.folder(kind, owner), MaxInFolder)
}

// MaxInFolder bounds the records ListIn reads of one folder.
const MaxInFolder = 1000

// transient reports a failed read worth failing a listing for (and trying again): the
// store busy or slow, the credentials, the request's own deadline — and any failure not
// known to last (the store's 5xx, a connection it could not make): a record skipped
// for it would be a declaration or an upload silently missed. Only the store's refusal
// of that object (403, or another 4xx: archived, encrypted with a key not given) is
// for good.
func transient(err error) bool {
	if errcode.Is(err, errcode.UpstreamBusy) || errcode.Is(err, errcode.UpstreamTimeout) ||
		errcode.Is(err, errcode.CredentialsFailed) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	if errcode.Is(err, errcode.UpstreamDenied) {
		return false
	}
	var re interface{ HTTPStatus() int } // the store's answer (storerest.ResponseError)
	return !errors.As(err, &re) || re.HTTPStatus() < 400 || re.HTTPStatus() >= 500
}

// readIn reads the record at path of owner's folder: nil when it is gone since the
// listing; forged when it is not this deployment's seal of owner's record at that path.
func (b *Book) readIn(ctx context.Context, kind Kind, owner, path string) (*Entry, bool, error) {
	raw, found, err := b.store.GetMarker(ctx, path)
	if err != nil || !found {
		return nil, false, err
	}
	var s sealed
	if json.Unmarshal(raw, &s) != nil || s.Kind != kind || !b.verifies(s.MAC, kind, s.Subject, s.Body) {
		return nil, true, nil
	}
	ownerOf, id, ok := outOfFolder(s.Subject)
	if !ok || ownerOf != owner || b.PathIn(kind, owner, id) != path {
		return nil, true, nil // moved from another owner's folder or id
	}
	return &Entry{ID: id, Body: s.Body}, false, nil
}
