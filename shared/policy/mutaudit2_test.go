package policy

import (
	"strings"
	"testing"

	"github.com/directup/directup/shared/storage"
)

// "key … at most 850 bytes", whatever the store takes: on a store with longer keys (S3's
// 1,024) a client's key of 851 bytes is still refused, and one of exactly 850 taken.
// Kills: objectkey.go `checkKey`'s bound off by one (`> storage.MaxKeyLength+1`), which
// the store's own length check hid on COS.
func TestMutaudit2KeyLengthIsTheRulesNotOnlyTheStores(t *testing.T) {
	p := Default()
	p.ClientKeys = true
	caps := storage.DefaultCapabilities()
	caps.MaxKeyLength = 1024
	for _, tc := range []struct {
		n  int
		ok bool
	}{{storage.MaxKeyLength, true}, {storage.MaxKeyLength + 1, false}} {
		key := p.KeyPrefix + strings.Repeat("k", tc.n-len(p.KeyPrefix))
		_, err := p.AdmitKey(key, caps)
		if (err == nil) != tc.ok {
			t.Errorf("a key of %d bytes on a store taking %d: %v; want ok %v", len(key), caps.MaxKeyLength, err, tc.ok)
		}
		if _, cerr := p.clientKey(key); (cerr == nil) != tc.ok {
			t.Errorf("a client key of %d bytes: %v; want ok %v", len(key), cerr, tc.ok)
		}
	}
}
