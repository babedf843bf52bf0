package hook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
)

// Only a 2xx answer is a decision: a hook answering 300 with {"allow": true} (a redirect
// page a proxy made, say) refuses the create (503 hook_unavailable, nothing reaches
// storage); 299 is still a decision. Kills: hook.go:Create `>= 300` weakened to `> 300`.
func TestMutauditOnlyA2xxIsADecision(t *testing.T) {
	for status, ok := range map[int]bool{299: true, 300: false} {
		e := setup(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"allow": true})
		}, time.Second)
		_, err := e.api.Initiate(context.Background(), &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: size(5)})
		if ok {
			if err != nil {
				t.Errorf("a %d answer allowing: %v", status, err)
			}
			continue
		}
		if a := apiErr(t, err); a.Status != 503 || a.Code != errcode.HookUnavailable {
			t.Errorf("a %d answer: %d %s; want 503 %s", status, a.Status, a.Code, errcode.HookUnavailable)
		}
		if n := e.store.Requests(); n != 0 {
			t.Errorf("a %d answer: %d requests reached storage", status, n)
		}
	}
}

// HOOK_URL and HOOK_SECRET are held at configuration: a cleartext URL to a public
// address, or a private one, stops the start; a secret of 15 characters is refused and 16
// taken. Kills: Validate's URL check dropped; `< 16` weakened to `< 15`.
func TestMutauditHookSettings(t *testing.T) {
	for _, tt := range []struct {
		s  hook.Settings
		ok bool
	}{
		{hook.Settings{URL: "https://hooks.example/create", Secret: strings.Repeat("s", 16), Timeout: time.Second}, true},
		{hook.Settings{URL: "https://hooks.example/create", Secret: strings.Repeat("s", 15), Timeout: time.Second}, false},
		{hook.Settings{URL: "http://93.184.215.14/create", Secret: strings.Repeat("s", 16), Timeout: time.Second}, false},
		{hook.Settings{URL: "https://10.0.0.7/create", Secret: strings.Repeat("s", 16), Timeout: time.Second}, false},
	} {
		if err := tt.s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s with a %d-character secret: %v; want ok %v", tt.s.URL, len(tt.s.Secret), err, tt.ok)
		}
	}
}
