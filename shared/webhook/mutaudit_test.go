package webhook

import (
	"testing"
	"time"
)

// A receiver's check (README: webhook.Verify with 5 minutes) refuses a signature dated
// beyond the window either way: ten minutes ahead of the receiver's clock is refused as
// ten minutes behind is. Kills: Verify's `.Abs()` dropped (future dates then passed).
func TestMutauditVerifyRefusesFutureDates(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"a":1}`)
	now := time.Unix(1_800_000_000, 0)
	for _, d := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		if Verify(secret, body, Sign(secret, body, now.Add(d)), now, 5*time.Minute) {
			t.Errorf("a signature dated %v from now verified", d)
		}
	}
	if !Verify(secret, body, Sign(secret, body, now.Add(4*time.Minute)), now, 5*time.Minute) {
		t.Error("a signature within the window did not verify")
	}
}
