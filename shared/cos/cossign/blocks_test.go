package cossign

import (
	"crypto/hmac"
	"crypto/sha1"
	"strconv"
	"strings"
	"testing"
)

// The padded-block path agrees with crypto/sha1 and crypto/hmac at every length around
// the block and padding edges (55/56/63/64 bytes and their multiples).
func TestBlockHasherMatchesStdlib(t *testing.T) {
	h := newBlockHasher()
	key := []byte(strings.Repeat("k", 40))
	inner, outer := hmacStates(h, key)
	for n := 0; n <= 3*sha1.BlockSize+1; n++ {
		msg := []byte(strings.Repeat("m", n))
		var got [sha1.Size]byte
		h.sum(nil, appendPadding(append([]byte(nil), msg...), n), got[:])
		if got != sha1.Sum(msg) {
			t.Fatalf("SHA-1 of %d bytes: got %x want %x", n, got, sha1.Sum(msg))
		}

		var in, mac [sha1.Size]byte
		h.sum(inner, appendPadding(append([]byte(nil), msg...), sha1.BlockSize+n), in[:])
		h.sum(outer, appendPadding(in[:], sha1.BlockSize+sha1.Size), mac[:])
		m := hmac.New(sha1.New, key)
		m.Write(msg)
		if want := m.Sum(nil); string(mac[:]) != string(want) {
			t.Fatalf("HMAC of %d bytes: got %x want %x", n, mac, want)
		}
	}
}

func TestPartNumber(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 10001, 123456} {
		if got, want := string(partNumber(n, nil)), strconv.Itoa(n); got != want {
			t.Errorf("partNumber(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestHexDigest(t *testing.T) {
	sum := sha1.Sum([]byte("x"))
	var got [2 * sha1.Size]byte
	hexDigest(&got, &sum)
	if want := "11f6ad8ec52a2984abaafd7c3b516503785c2072"; string(got[:]) != want {
		t.Errorf("hexDigest = %s, want %s", got, want)
	}
}
