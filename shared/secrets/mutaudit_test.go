package secrets

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The minimum holds at its bound: a value one character short of Min is refused, Min
// characters are kept. Kills: pick's `len(v) < s.Min` weakened to `< s.Min-1`.
func TestMutauditMinimumAtItsBound(t *testing.T) {
	for n, ok := range map[int]bool{31: false, 32: true} {
		r := &countingReader{value: strings.Repeat("v", n)}
		s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: r, Min: 32}
		cur, _, err := s.Value(context.Background())
		if ok != (err == nil) || ok && cur != r.value {
			t.Errorf("a %d-character value with a minimum of 32: %q %v", n, cur, err)
		}
	}
}

// The cache and the grace end at their instants: read+TTL reads again, prevUntil no
// longer verifies the previous value. Kills: Value's `!now().Before(...)` weakened to
// `now().After(...)` for the TTL and for the grace.
func TestMutauditTTLAndGraceEndAtTheirInstants(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	r := &countingReader{value: "first-value-0123456789abcdef01234"}
	s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: r, TTL: time.Minute, Grace: time.Hour, Now: c.now}
	s.Value(context.Background())
	r.value = "second-value-0123456789abcdef0123"
	first := c.t
	c.t = first.Add(time.Minute) // exactly one TTL after the read
	cur, prev, err := s.Value(context.Background())
	if err != nil || cur != r.value || r.reads != 2 {
		t.Fatalf("at read+TTL: current %q after %d reads (%v); want a new read", cur, r.reads, err)
	}
	if prev != "first-value-0123456789abcdef01234" {
		t.Fatalf("just after the rotation the previous is %q", prev)
	}
	c.t = first.Add(time.Hour) // the grace counts from the last read that saw the old value
	if _, prev, _ := s.Value(context.Background()); prev != "" {
		t.Errorf("at the grace's end the previous value still verifies (%q)", prev)
	}
}

// shortHistory is a store whose history holds a previous value too short to be a key.
type shortHistory struct{ countingReader }

func (h *shortHistory) Previous(context.Context, string) (string, time.Time, bool, error) {
	return "short", time.Now().Add(-time.Minute), true, nil
}

// A cold instance learns the previous value only if it is a value the setting takes: a
// short one in the store's history is never kept as a verify-only key. Kills:
// learnPrevious not holding the previous value to pick (Min).
func TestMutauditColdInstanceRefusesAShortPrevious(t *testing.T) {
	h := &shortHistory{countingReader{value: "current-value-0123456789abcdef012"}}
	s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: h, Min: 32}
	cur, prev, err := s.Value(context.Background())
	if err != nil || cur != h.value || prev != "" {
		t.Errorf("current %q previous %q %v; want no previous", cur, prev, err)
	}
}
