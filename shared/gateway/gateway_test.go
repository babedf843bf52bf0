package gateway

import (
	"context"
	"maps"
	"testing"
)

func TestBaseURL(t *testing.T) {
	for _, tt := range []struct{ proto, host, prefix, want string }{
		{"", "abc.execute-api.us-east-1.amazonaws.com", "/prod", "https://abc.execute-api.us-east-1.amazonaws.com/prod"},
		{"https", "api.example.com", "", "https://api.example.com"},
		{"http", "127.0.0.1:9000", "/release/", "http://127.0.0.1:9000/release"},
		{"ftp", "api.example.com", "/", "https://api.example.com"}, // only http lowers the scheme
		{"http", "", "/prod", ""}, // no host, no URL
	} {
		if got := BaseURL(tt.proto, tt.host, tt.prefix); got != tt.want {
			t.Errorf("BaseURL(%q, %q, %q) = %q, want %q", tt.proto, tt.host, tt.prefix, got, tt.want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"nothing recorded", context.Background(), ""},
		{"recorded", WithPublicURL(context.Background(), "https://h/prod"), "https://h/prod"},
		{"the last recording wins", WithPublicURL(WithPublicURL(context.Background(), "https://a"), "https://b"), "https://b"},
		{"an authorizer is not a URL", WithAuthorizer(context.Background(), map[string]string{"sub": "alice"}), ""},
	} {
		if got := PublicURL(tt.ctx); got != tt.want {
			t.Errorf("%s: PublicURL = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAuthorizer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		want   map[string]string
		wantOK bool
	}{
		{"nothing recorded", context.Background(), nil, false},
		{"claims", WithAuthorizer(context.Background(), map[string]string{"sub": "alice"}), map[string]string{"sub": "alice"}, true},
		{"empty claims are none", WithAuthorizer(context.Background(), map[string]string{}), map[string]string{}, false},
		{"nil claims are none", WithAuthorizer(context.Background(), nil), nil, false},
		{"a URL is not an authorizer", WithPublicURL(context.Background(), "https://h"), nil, false},
	} {
		got, ok := Authorizer(tt.ctx)
		if ok != tt.wantOK || !maps.Equal(got, tt.want) {
			t.Errorf("%s: Authorizer = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
