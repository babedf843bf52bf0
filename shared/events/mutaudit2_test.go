package events_test

import (
	"strings"
	"testing"

	"github.com/directup/directup/shared/events"
)

// "id is derived from the outcome and the write: type, bucket, key, ETag and what names
// the write": receivers deduplicate on it, so an upload.completed and the upload.rejected
// of the same write never share one, nor do two buckets, keys or versions. Kills:
// event.go `EventID` leaving the type out of the digest.
func TestMutaudit2EventIDsNameTheOutcome(t *testing.T) {
	base := events.EventID(events.Completed, "b-1250000000", "uploads/a.png", "etag@1")
	for name, other := range map[string]string{
		"rejected":       events.EventID(events.Rejected, "b-1250000000", "uploads/a.png", "etag@1"),
		"aborted":        events.EventID(events.Aborted, "b-1250000000", "uploads/a.png", "etag@1"),
		"another bucket": events.EventID(events.Completed, "c-1250000000", "uploads/a.png", "etag@1"),
		"another key":    events.EventID(events.Completed, "b-1250000000", "uploads/b.png", "etag@1"),
		"another write":  events.EventID(events.Completed, "b-1250000000", "uploads/a.png", "etag@2"),
	} {
		if other == base {
			t.Errorf("%s: the same id %s as the completed outcome", name, base)
		}
	}
	if again := events.EventID(events.Completed, "b-1250000000", "uploads/a.png", "etag@1"); again != base {
		t.Errorf("one outcome, two ids: %s %s", base, again)
	}
}

// EVENTS_SECRET: with EVENTS_URL, at least 16 characters (or EVENTS_SECRET_FROM). Kills:
// events.go `Validate`'s minimum lowered.
func TestMutaudit2EventsSecretMinimum(t *testing.T) {
	for _, tc := range []struct {
		secret, from string
		ok           bool
	}{
		{strings.Repeat("s", 15), "", false},
		{strings.Repeat("s", 16), "", true},
		{"", "", false},
		{"", "aws-ssm:/directup/events", true},
	} {
		err := events.Settings{URL: "https://events.example/in", Secret: tc.secret, SecretFrom: tc.from}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("secret of %d characters, from %q: %v; want ok %v", len(tc.secret), tc.from, err, tc.ok)
		}
	}
}
