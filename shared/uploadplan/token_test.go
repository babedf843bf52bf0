package uploadplan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
)

func TestTokens(t *testing.T) {
	tok := NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Unix(1_800_000_000, 0)
	claims := Claims{Bucket: "b-1250000000", Key: "uploads/x/a.bin", UploadID: "UP1", Size: 10, PartSize: storage.MinPartSize, Expires: now.Add(time.Hour).Unix()}
	good := tok.Sign(claims)

	got, err := tok.Verify(good, now)
	if err != nil || *got != claims {
		t.Fatalf("Verify(good) = %+v, %v", got, err)
	}

	payload, sig, _ := strings.Cut(good[len("v1."):], ".")
	flip := "A"
	if sig[0] == 'A' {
		flip = "B"
	}
	forged := tok.Sign(Claims{Bucket: "b-1250000000", Key: "other", UploadID: "UP1", Size: 1 << 40, PartSize: storage.MinPartSize, Expires: claims.Expires})
	other := NewTokens([]byte("another secret of thirty-two byt")).Sign(claims)
	tests := []struct {
		name  string
		token string
		at    time.Time
		code  string
	}{
		{"missing", "", now, errcode.TokenMissing},
		{"expired", good, now.Add(time.Hour), errcode.TokenExpired},
		{"other secret", other, now, errcode.TokenInvalid},
		{"payload swapped", "v1." + forged[3:strings.LastIndexByte(forged, '.')] + "." + sig, now, errcode.TokenInvalid},
		{"signature flipped", "v1." + payload + "." + flip + sig[1:], now, errcode.TokenInvalid},
		{"no signature", "v1." + payload, now, errcode.TokenInvalid},
		{"wrong version", "v2." + payload + "." + sig, now, errcode.TokenInvalid},
		{"huge", "v1." + strings.Repeat("A", 5000) + "." + sig, now, errcode.TokenInvalid},
		{"garbage", "v1..", now, errcode.TokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tok.Verify(tt.token, tt.at)
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
		})
	}
}

func FuzzTokenVerify(f *testing.F) {
	tok := NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	f.Add(tok.Sign(Claims{Key: "k", UploadID: "u", PartSize: storage.MinPartSize, Expires: 1 << 40}))
	f.Add("v1.e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tok.Verify(s, time.Unix(0, 0))
		if err == nil && tok.Sign(*c) != s {
			// Only a token this secret signed may pass, and it re-signs to itself.
			t.Fatalf("accepted a token it did not sign: %q", s)
		}
	})
}
