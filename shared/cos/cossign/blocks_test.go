package cossign

import (
	"crypto/hmac"
	"crypto/sha1"
	"math"
	"math/rand/v2"
	"slices"
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

// blockX2 agrees with crypto/sha1 on two different messages of every length up to 10
// blocks, and from a saved (HMAC) state.
func TestBlockX2MatchesStdlib(t *testing.T) {
	if !haveX2 {
		t.Skip("no SHA extensions on this CPU")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 10*sha1.BlockSize; n++ {
		m0, m1 := make([]byte, n), make([]byte, n)
		for i := range m0 {
			m0[i], m1[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		p0, p1 := appendPadding(slices.Clone(m0), n), appendPadding(slices.Clone(m1), n)
		h0, h1 := sha1IV, sha1IV
		hashX2(&h0, &h1, p0, p1)
		var d0, d1 [sha1.Size]byte
		putWords(&d0, &h0)
		putWords(&d1, &h1)
		if d0 != sha1.Sum(m0) || d1 != sha1.Sum(m1) {
			t.Fatalf("%d bytes: got %x %x, want %x %x", n, d0, d1, sha1.Sum(m0), sha1.Sum(m1))
		}
	}

	key := []byte(strings.Repeat("k", 40))
	inner, _ := hmacStates(newBlockHasher(), key)
	msg := appendPadding([]byte("sha1\n1480932292;1481012292\n"), sha1.BlockSize+27)
	h0, h1 := stateWords(inner), stateWords(inner)
	hashX2(&h0, &h1, msg, msg)
	var want [sha1.Size]byte
	newBlockHasher().sum(inner, msg, want[:])
	var got [sha1.Size]byte
	if putWords(&got, &h0); got != want || h0 != h1 {
		t.Fatalf("from a saved state: got %x, want %x", got, want)
	}
}

// hashX2 refuses messages the assembly would read past.
func TestHashX2Refuses(t *testing.T) {
	for _, m := range [][2]int{{64, 128}, {63, 63}, {128, 64}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("hashX2 of %d and %d bytes did not panic", m[0], m[1])
				}
			}()
			h0, h1 := sha1IV, sha1IV
			hashX2(&h0, &h1, make([]byte, m[0]), make([]byte, m[1]))
		}()
	}
}

func BenchmarkBlockX2(b *testing.B) {
	if !haveX2 {
		b.Skip("no SHA extensions on this CPU")
	}
	m0, m1 := make([]byte, 12*sha1.BlockSize), make([]byte, 12*sha1.BlockSize)
	b.Run("two-streams", func(b *testing.B) {
		for b.Loop() {
			h0, h1 := sha1IV, sha1IV
			hashX2(&h0, &h1, m0, m1)
		}
	})
	b.Run("crypto-sha1-twice", func(b *testing.B) {
		d := sha1.New()
		for b.Loop() {
			d.Reset()
			d.Write(m0)
			d.Reset()
			d.Write(m1)
		}
	})
}
