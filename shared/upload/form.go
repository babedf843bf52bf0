package upload

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
)

// FormUpload is a signed browser form that writes one object in one request (POST
// Object): POST every field, then the file, to URL. There is no complete: the
// storage-triggered function checks what it stored.
type FormUpload struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields"`
	Bucket    string            `json:"bucket"`
	Key       string            `json:"key"`
	MinSize   int64             `json:"minSize"`
	MaxSize   int64             `json:"maxSize"`
	ExpiresAt time.Time         `json:"expiresAt"`
	Profile   string            `json:"profile,omitempty"`
}

// InitiateForm holds req to the same rules, profile and hook as every other create, and
// signs a form whose policy bounds what storage takes: the exact key and settings (type,
// metadata with the write's seal, class, ACL, encryption), a length of exactly the
// declared size (req.Size; nil: undeclared, then the rules' MinSize up to their MaxSize,
// at most 5 GiB), for the rules' URLTTL at most (and never past the credentials).
func (s *Service) InitiateForm(ctx context.Context, req *policy.InitiateRequest) (*FormUpload, error) {
	fu, ok := s.store.(storage.FormUploader)
	if !ok {
		return nil, &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot sign form uploads: upload in parts"}
	}
	rules, err := s.rulesFor(ctx, req.Profile)
	if err != nil {
		return nil, err
	}
	if rules.RequireChecksum { // a form has no complete to send one with
		return nil, &errcode.Error{Code: errcode.NotAvailable, Field: "checksum",
			Message: "these rules require a whole-object checksum, which a form upload cannot send: upload in parts"}
	}
	declared := req.Size != nil
	r := *req
	if !declared {
		ceiling := min(rules.MaxSize, storage.MaxFormSize)
		r.Size = &ceiling
	}
	obj, plan, generatedKey, err := s.objectFor(ctx, rules, &r)
	if err != nil {
		return nil, err
	}
	if plan.Size > storage.MaxFormSize {
		return nil, errcode.Invalid("size", "a form upload writes at most %d bytes: upload it in parts", storage.MaxFormSize)
	}
	if s.hook != nil {
		if err := s.askHook(ctx, rules, &r, obj, plan, !declared); err != nil {
			return nil, err
		}
	}
	if err := s.inFolder(obj.Key, req.Profile); err != nil {
		return nil, err
	}
	write, err := s.newFormWrite(obj.Key, plan.Size, !declared, obj.ContentType, req.Profile)
	if err != nil {
		return nil, err
	}
	obj.Metadata = maps.Clone(obj.Metadata)
	if obj.Metadata == nil {
		obj.Metadata = map[string]string{}
	}
	obj.Metadata[policy.WriteMetadata] = write
	if s.caps.FormsTakeUnnamedFields {
		if err := formsCanSeal(obj); err != nil {
			return nil, err
		}
		sign, _ := s.writeKeys.Keys()
		obj.Metadata[policy.FormMetadata] = settingsSeal(sign, obj.Key, objectSettings(obj))
	}
	minSize := rules.MinSize
	if declared {
		minSize = plan.Size
	}
	until, drop, err := s.outstandingForm(ctx, obj.Key, generatedKey, rules)
	if err != nil {
		return nil, err
	}
	ttl := until.Sub(s.now())
	if ttl < time.Second { // its checks outlasted it (a store that slow): no form at all
		drop()
		return nil, &errcode.Error{Code: errcode.UpstreamTimeout, Message: "storage answered too slowly to sign a form upload; try again"}
	}
	f, err := fu.PresignForm(ctx, &storage.FormRequest{Object: obj, MinSize: minSize, MaxSize: plan.Size, TTL: ttl})
	if err != nil {
		drop()
		return nil, err
	}
	return &FormUpload{Method: http.MethodPost, URL: f.URL, Fields: f.Fields, Bucket: s.store.Bucket(), Key: obj.Key,
		MinSize: minSize, MaxSize: plan.Size, ExpiresAt: f.Expires.UTC(), Profile: req.Profile}, nil
}

// settings is the canonical text of an object's settings as a store's answer tells them
// back: entity headers, storage class (its default named), encryption, and the metadata
// but directup's own.
func settings(cacheControl, disposition, encoding, expires, class, encryption string, meta map[string]string) string {
	if class == "" {
		class = "STANDARD"
	}
	var b strings.Builder
	for _, v := range []string{cacheControl, disposition, encoding, expires, class, encryption} {
		b.WriteString(v)
		b.WriteByte(0)
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		// The seals themselves stay out; any other directup- name a client added counts.
		if k != policy.WriteMetadata && k != policy.FormMetadata {
			b.WriteString(k + "=" + meta[k])
			b.WriteByte(0)
		}
	}
	return b.String()
}

func objectSettings(obj *storage.Object) string {
	enc := ""
	if obj.Encryption != nil {
		enc = obj.Encryption.Type
	}
	return settings(obj.CacheControl, obj.ContentDisposition, obj.ContentEncoding, obj.Expires, obj.StorageClass, enc, obj.Metadata)
}

func infoSettings(info storage.ObjectInfo) string {
	return settings(info.CacheControl, info.ContentDisposition, info.ContentEncoding, info.Expires, info.StorageClass, info.Encryption, info.Metadata)
}

// formsCanSeal refuses, on a store whose forms take fields their policy does not name, a
// form the storage check could not hold to what it asked for: one with an ACL or grants
// (the check tells only "nobody but the owner" from its access list, not which grants were
// asked), or SSE-KMS (its key id and context do not come back on a HEAD).
func formsCanSeal(obj *storage.Object) error {
	g := obj.Grants
	if (obj.ACL != "" && obj.ACL != "default" && obj.ACL != "private") || len(g.Read)+len(g.ReadACP)+len(g.WriteACP)+len(g.FullControl) > 0 {
		return &errcode.Error{Code: errcode.NotAvailable, Field: "acl",
			Message: "a form upload on this store cannot carry an ACL or grants: upload in parts"}
	}
	if obj.Encryption != nil && obj.Encryption.Type == storage.SSEKMS {
		return &errcode.Error{Code: errcode.NotAvailable, Field: "encryption",
			Message: "a form upload on this store cannot use SSE-KMS: upload in parts"}
	}
	return nil
}

// settingsSeal is the FormMetadata value of a form for key asking for these settings,
// under secret (the write key).
func settingsSeal(secret []byte, key, settings string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("form settings\x00" + key + "\x00" + settings))
	return policy.KeyEncoding.EncodeToString(m.Sum(nil)[:15])
}

// addedSettings tells why a form-written object carries settings its form did not ask
// for ("" when it does not): fields a client added, which a store that takes unnamed fields
// kept — metadata, class, encryption, entity headers (the seal), and grants to anyone but
// the owner (the store's access list: such forms ask for none, formsCanSeal).
func (s *Service) addedSettings(ctx context.Context, key string, info storage.ObjectInfo) (string, error) {
	if !s.caps.FormsTakeUnnamedFields {
		return "", nil
	}
	got, text := []byte(info.Metadata[policy.FormMetadata]), infoSettings(info)
	sealed := false // under the write key, or the verify-only one of a rotation
	sign, previous := s.writeKeys.Keys()
	for _, k := range append([][]byte{sign}, previous...) {
		sealed = sealed || len(k) > 0 && hmac.Equal(got, []byte(settingsSeal(k, key, text)))
	}
	if !sealed {
		return "the object carries settings its form did not ask for (fields added to the form: metadata, storage class, encryption or entity headers); it was deleted", nil
	}
	gr, ok := s.store.(storage.GrantReader)
	if !ok {
		return "", nil
	}
	others, err := gr.OthersGranted(ctx, key)
	if err != nil || !others {
		return "", err
	}
	return "the object grants access its form did not ask for (grants added to the form); it was deleted", nil
}
