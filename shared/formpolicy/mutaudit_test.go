package formpolicy

import (
	"testing"
	"time"
)

// A policy's equality is exact: the local store (COS's stand-in) refuses a form whose key,
// type or ACL differs from the signed value only in case, as COS does. Kills: Check's
// `v != c.Value` loosened to a case-insensitive comparison.
func TestMutauditEqualityIsCaseSensitive(t *testing.T) {
	now := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)
	d := &Document{Expiration: now.Add(time.Hour), Conditions: []Condition{
		Eq("key", "up/a.png"), Eq("Content-Type", "image/png"), Eq("acl", "private"),
	}}
	none := func(string) bool { return false }
	ok := map[string]string{"key": "up/a.png", "content-type": "image/png", "acl": "private"}
	if err := d.Check(ok, now, none, nil); err != nil {
		t.Fatalf("the signed values: %v", err)
	}
	for name, v := range map[string]string{"key": "UP/A.png", "content-type": "IMAGE/PNG", "acl": "Private"} {
		f := map[string]string{}
		for k, w := range ok {
			f[k] = w
		}
		f[name] = v
		if err := d.Check(f, now, none, nil); err == nil {
			t.Errorf("%s %q passed a policy signed for %q", name, v, ok[name])
		}
	}
}
