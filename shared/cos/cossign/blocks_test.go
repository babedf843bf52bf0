package cossign

import (
	"crypto/hmac"
	"crypto/sha1"
	"math"
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

func TestDecimal(t *testing.T) {
	// Runs across every carry and digit-width change, jumps, and numbers out of range.
	runs := [][]int{{1, 2, 3}, {8, 9, 10, 11}, {98, 99, 100, 101}, {999, 1000}, {9999, 10000, 10001},
		{5, 4, 5, 7, 8}, {-2, -1, 0, 1, 2}, {0, 1}, {19, 20, 29, 30, 199, 200},
		{math.MaxInt - 1, math.MaxInt, math.MinInt}}
	for _, run := range runs {
		var d decimal
		for _, n := range run {
			if got, want := string(d.of(n)), strconv.Itoa(n); got != want {
				t.Errorf("run %v: of(%d) = %q, want %q", run, n, got, want)
			}
		}
	}
	var d decimal
	for n := 1; n <= 100000; n++ {
		if got := d.of(n); string(got) != strconv.Itoa(n) {
			t.Fatalf("counting up: of(%d) = %q", n, got)
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
