package upload

import (
	"context"
	"maps"
	"net/http"
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
	declared := req.Size != nil
	r := *req
	if !declared {
		ceiling := min(rules.MaxSize, storage.MaxFormSize)
		r.Size = &ceiling
	}
	var generatedKey string
	obj, plan, err := rules.ObjectFor(&r, func(filename string) (string, error) {
		k, err := policy.GenerateKey(s.random, rules.KeyTemplate, rules.KeyPrefix, Caller(ctx), filename, s.now())
		generatedKey = k
		return k, err
	}, s.caps)
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
	if obj.Key != generatedKey { // named by the client or the hook: not while keys for it are out
		if err := s.lockedByKeys(ctx, obj.Key); err != nil {
			return nil, err
		}
	}
	if obj.ForbidOverwrite && obj.Key == generatedKey {
		// A key nobody could name before: there is no object to keep from being replaced
		// (forms cannot forbid it; only re-posting this very form replaces its own object).
		obj.ForbidOverwrite = false
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
	minSize := rules.MinSize
	if declared {
		minSize = plan.Size
	}
	f, err := fu.PresignForm(ctx, &storage.FormRequest{Object: obj, MinSize: minSize, MaxSize: plan.Size, TTL: rules.URLTTL})
	if err != nil {
		return nil, err
	}
	return &FormUpload{Method: http.MethodPost, URL: f.URL, Fields: f.Fields, Bucket: s.store.Bucket(), Key: obj.Key,
		MinSize: minSize, MaxSize: plan.Size, ExpiresAt: f.Expires.UTC(), Profile: req.Profile}, nil
}
