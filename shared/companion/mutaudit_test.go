package companion_test

import (
	"testing"
	"time"
)

// A capability ends at its expiry second, not a second later: used in the very second
// it expires it is 401 token_expired. Kills: companion.go:verify `>=` weakened to `>`.
func TestMutauditCapabilityEndsAtItsExpiry(t *testing.T) {
	e := setup(t, false, 1<<20)
	end := time.Unix(time.Now().Unix()+1, 0)
	c, exp := e.comp.Mint("alice", end)
	if !exp.Equal(end) {
		t.Fatalf("the capability ends %v; want %v", exp, end)
	}
	time.Sleep(time.Until(end) + 50*time.Millisecond) // within the second it expires
	var out struct{ Error struct{ Code string } }
	s := call(t, "POST", e.url+"/c/"+c+"/s3/multipart", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, &out)
	if s != 401 || out.Error.Code != "token_expired" {
		t.Fatalf("a capability used in its expiry second: %d %+v; want 401 token_expired", s, out.Error)
	}
}
