package hook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
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
