package storerest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/upload"
)

type failingCreds struct{ err error }

func (f failingCreds) Retrieve(context.Context) (credentials.Value, error) {
	return credentials.Value{}, f.err
}

// Failures are named for what failed: obtaining credentials, or signing the request.
func TestErrorsNameWhatFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dialect := func(sign func(*http.Request, *Call, credentials.Value, time.Time) error) Dialect {
		return Dialect{Name: "COS", URL: func(key string, q url.Values) string { return srv.URL + "/" + key }, Sign: sign}
	}
	okSign := func(*http.Request, *Call, credentials.Value, time.Time) error { return nil }
	badSign := func(*http.Request, *Call, credentials.Value, time.Time) error { return errors.New("no signer") }
	tests := []struct {
		name   string
		client *Client
		status int
		code   string
	}{
		{"credentials fail", New(dialect(okSign), failingCreds{errors.New("sts down")}, nil), http.StatusBadGateway, upload.CodeCredentialsFailed},
		{"no credentials", New(dialect(okSign), failingCreds{credentials.ErrMissing}, nil), http.StatusServiceUnavailable, upload.CodeCredentialsFailed},
		{"signing fails", New(dialect(badSign), credentials.Static{AccessKeyID: "a", SecretAccessKey: "b"}, nil), http.StatusInternalServerError, upload.CodeInternal},
	}
	for _, tt := range tests {
		err := tt.client.Abort(context.Background(), "k", "u")
		if e := upload.AsError(err); e.Status != tt.status || e.Code != tt.code {
			t.Errorf("%s: %v, want %d %s", tt.name, err, tt.status, tt.code)
		}
		if _, err := tt.client.Credentials(context.Background()); tt.code == upload.CodeCredentialsFailed && upload.AsError(err).Code != tt.code {
			t.Errorf("%s: Credentials = %v", tt.name, err)
		}
	}
}
