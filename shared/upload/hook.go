package upload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
)

// WithHook asks h before every upload starts.
func WithHook(h hook.Hook) Option { return func(s *Service) { s.hook = h } }

func hookUnavailable(format string, args ...any) *errcode.Error {
	return errcode.New(errcode.HookUnavailable, "", format, args...)
}

// askHook asks the hook about obj and applies its answer; what it changes is checked by
// the policy again. Nothing has reached storage yet.
func (s *Service) askHook(ctx context.Context, rules *policy.Policy, req *policy.InitiateRequest, obj *storage.Object, plan uploadplan.Plan, open bool) error {
	var id [8]byte
	rand.Read(id[:])
	ev := &hook.CreateEvent{Type: "upload.create", ID: hex.EncodeToString(id[:]), Time: s.now().UTC(), Caller: Caller(ctx),
		Upload: hook.ProposedUpload{Profile: req.Profile, Key: obj.Key, Filename: req.Filename, ContentType: obj.ContentType, Size: plan.Size,
			Open: open, Metadata: obj.Metadata, Tagging: obj.Tags, StorageClass: obj.StorageClass, ACL: obj.ACL,
			ForbidOverwrite: obj.ForbidOverwrite}}
	if !open {
		ev.Upload.PartSize = plan.PartSize
	}
	if obj.Encryption != nil {
		ev.Upload.Encryption = obj.Encryption.Type
	}
	d, err := s.hook.Create(ctx, ev)
	if err != nil {
		e := hookUnavailable("the upload hook did not answer; try again later")
		e.Err = err
		return e
	}
	if d == nil || d.Allow == nil {
		return hookUnavailable("the upload hook's answer has no allow")
	}
	if !*d.Allow {
		msg := d.Message
		if msg == "" || len(msg) > 512 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\r\n") {
			msg = "the deployer's upload hook refused this upload"
		}
		return errcode.New(errcode.HookDenied, "", "%s", msg)
	}
	caps := s.store.Capabilities()
	if d.Key != "" {
		if _, err := rules.AdmitKey(d.Key, caps); err != nil {
			return hookUnavailable("the upload hook answered a key the policy refuses")
		}
		obj.Key = d.Key
	}
	if d.Metadata != nil {
		m, err := policy.CheckMetadata(d.Metadata)
		if err != nil {
			return hookUnavailable("the upload hook answered metadata the policy refuses: %s", errcode.As(err).Message)
		}
		if missing := rules.MissingMetadata(m); missing != "" {
			return hookUnavailable("the upload hook answered metadata without the required %s", missing)
		}
		obj.Metadata = m
	}
	if d.Tagging != nil {
		t, err := policy.CheckTags(d.Tagging)
		if err != nil || (len(t) > 0 && !caps.Tags) {
			return hookUnavailable("the upload hook answered tags the policy refuses")
		}
		obj.Tags = t
	}
	return nil
}
