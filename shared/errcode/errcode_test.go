package errcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestRetryable(t *testing.T) {
	for _, tt := range []struct {
		code string
		want bool
	}{
		{UpstreamBusy, true}, {UpstreamTimeout, true}, {UpstreamError, true}, {CredentialsFailed, true},
		{HookUnavailable, true}, {Internal, true},
		{InvalidField, false}, {PolicyDenied, false}, {UploadNotFound, false}, {ContentMismatch, false},
		{MarkerInvalid, false}, {RequestConflict, false}, {NotAvailable, false}, {TokenExpired, false},
	} {
		if got := Retryable(tt.code); got != tt.want {
			t.Errorf("Retryable(%s) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestAs(t *testing.T) {
	wrapped := fmt.Errorf("context: %w", Missing("size"))
	for _, tt := range []struct {
		err         error
		code, field string
	}{
		{wrapped, MissingField, "size"},
		{Invalid("acl", "no %s", "x"), InvalidField, "acl"},
		{Denied("key", "no"), PolicyDenied, "key"},
		{errors.New("disk on fire"), Internal, ""},
	} {
		e := As(tt.err)
		if e.Code != tt.code || e.Field != tt.field || !Is(tt.err, tt.code) && tt.code != Internal {
			t.Errorf("As(%v) = %s/%s, want %s/%s", tt.err, e.Code, e.Field, tt.code, tt.field)
		}
	}
	if e := As(errors.New("secret detail")); e.Message != "internal error" {
		t.Errorf("an internal error shows %q", e.Message)
	}
}
