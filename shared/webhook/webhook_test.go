package webhook

import (
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"a":1}`)
	now := time.Unix(1_800_000_000, 0)
	h := Sign(secret, body, now)
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		at     time.Time
		ok     bool
	}{
		{"genuine", secret, body, h, now.Add(time.Minute), true},
		{"too old", secret, body, h, now.Add(10 * time.Minute), false},
		{"other body", secret, []byte(`{"a":2}`), h, now, false},
		{"other secret", []byte("other"), body, h, now, false},
		{"no signature", secret, body, "t=1800000000", now, false},
		{"garbage", secret, body, "v1=,t=x", now, false},
	}
	for _, tt := range tests {
		if got := Verify(tt.secret, tt.body, tt.header, tt.at, 5*time.Minute); got != tt.ok {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.ok)
		}
	}
}
