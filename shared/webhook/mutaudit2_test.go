package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// "Redirects are not followed: a 3xx is a refusal … a receiver answering 3xx or 4xx is not
// retried": Deliver to a receiver answering 302 ends at once with a RefusedError, never as
// delivered. Kills: webhook.go `Deliver` taking any status under 400 as delivered.
func TestMutaudit2RedirectIsARefusal(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Redirect(w, r, "https://elsewhere.example/in", http.StatusFound)
	}))
	defer srv.Close()
	tg := &Target{Secret: []byte("0123456789abcdef")}
	err := tg.Deliver(context.Background(), srv.URL+"/in", []byte(`{}`), 3, time.Second)
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Status != http.StatusFound {
		t.Errorf("a 302 answer: %v; want a refusal with 302", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d posts; want 1 (a refusal is not retried)", got)
	}
}

// "…if QUEUE_CALLBACK_ALLOWED_HOSTS is set, on one of its hosts": a target with pinned
// hosts refuses every other host, loopback included, before anything is sent. Kills:
// webhook.go `Check`'s AllowedHosts test dropped.
func TestMutaudit2PinnedHostsAreTheOnlyOnes(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	tg := &Target{Secret: []byte("0123456789abcdef"), AllowedHosts: []string{"hooks.example"}}
	for _, u := range []string{"https://other.example/in", "https://hooks.example.evil.example/in", srv.URL + "/in"} {
		if err := tg.Check(u); !errors.Is(err, ErrAddress) {
			t.Errorf("Check(%s) with hooks pinned to hooks.example: %v; want ErrAddress", u, err)
		}
	}
	if err := tg.Check("https://hooks.example/in"); err != nil {
		t.Errorf("the pinned host: %v", err)
	}
	if _, err := tg.Post(context.Background(), srv.URL+"/in", []byte(`{}`), time.Second); !errors.Is(err, ErrAddress) {
		t.Errorf("a post to a host not pinned: %v; want ErrAddress", err)
	}
	if got := n.Load(); got != 0 {
		t.Errorf("%d requests reached a host not pinned", got)
	}
}
