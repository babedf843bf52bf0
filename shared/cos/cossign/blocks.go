package cossign

import (
	"crypto/sha1"
	"encoding"
	"encoding/binary"
	"hash"
)

// blockHasher runs crypto/sha1's own block function over messages that already carry
// their padding, starting from a saved state.
//
// Why: presigning 10,000 parts hashes 12 blocks per part, and with SHA instructions the
// blocks themselves are only half the time of sha1.Sum + crypto/hmac; the rest is their
// per-call copying, padding and state handling. Writing whole blocks goes straight to the
// block function, and the digest is read off the marshaled state (h0..h4, big-endian,
// right after the 4-byte magic: the format crypto/sha1 keeps stable so saved states load
// in later Go versions). init checks that reading against sha1.Sum, and the tests check
// every signature against the official SDK. This is the path for one part at a time, and
// for every part where the CPU lacks the SHA extensions; with them, parts are hashed two at
// once by blockX2 (sha1x2_gen.go says why).
type blockHasher struct {
	d     hash.Hash
	load  encoding.BinaryUnmarshaler
	save  encoding.BinaryAppender
	state [128]byte // room for one marshaled state (96 bytes in crypto/sha1)
}

const stateMagic = 4 // the marshaled state starts "sha\x01"

func newBlockHasher() *blockHasher {
	d := sha1.New()
	return &blockHasher{d: d, load: d.(encoding.BinaryUnmarshaler), save: d.(encoding.BinaryAppender)}
}

// sum hashes padded (whole blocks, padding included) after the saved state from, or from
// the start when from is nil, and writes the 20-byte digest into out.
func (h *blockHasher) sum(from, padded, out []byte) {
	if from == nil {
		h.d.Reset()
	} else if err := h.load.UnmarshalBinary(from); err != nil {
		panic("cossign: " + err.Error()) // from came from saved: cannot happen
	}
	h.d.Write(padded)
	st, _ := h.save.AppendBinary(h.state[:0])
	copy(out, st[stateMagic:stateMagic+sha1.Size])
}

// saved returns the state after hashing whole blocks (an HMAC pad).
func (h *blockHasher) saved(blocks []byte) []byte {
	h.d.Reset()
	h.d.Write(blocks)
	st, _ := h.save.AppendBinary(nil)
	return st
}

// appendPadding appends SHA-1's padding to b, which holds the tail of a message of total
// bytes starting at a block boundary: 0x80, zeros, the bit length in 64 bits big-endian.
func appendPadding(b []byte, total int) []byte {
	b = append(b, 0x80)
	for len(b)%sha1.BlockSize != sha1.BlockSize-8 {
		b = append(b, 0)
	}
	return binary.BigEndian.AppendUint64(b, uint64(total)*8)
}

// hmacStates returns the states after HMAC's inner and outer key blocks.
func hmacStates(h *blockHasher, key []byte) (inner, outer []byte) {
	var ipad, opad [sha1.BlockSize]byte // keys here are 40 hex bytes, never longer than a block
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	return h.saved(ipad[:]), h.saved(opad[:])
}

func init() {
	// The digest is read from crypto/sha1's marshaled state; refuse to sign anything if a
	// Go release ever lays that state out differently (or SHA-1 is refused outright, as
	// with GODEBUG=fips140=only: COS signatures cannot be made without it).
	msg := []byte("directup checks the marshaled SHA-1 state once at start")
	var got [sha1.Size]byte
	newBlockHasher().sum(nil, appendPadding(append([]byte(nil), msg...), len(msg)), got[:])
	if got != sha1.Sum(msg) {
		panic("cossign: SHA-1 from crypto/sha1's saved state disagrees with sha1.Sum (its state layout changed, or SHA-1 is disabled)")
	}
}

// hexPairs holds the two lowercase hex digits of every byte value.
var hexPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&15]}
	}
	return t
}()

// hexDigest is hex.Encode for one digest (two per presigned part): with fixed sizes the
// compiler drops the bounds checks, and one table load gives both digits.
func hexDigest(dst *[2 * sha1.Size]byte, sum *[sha1.Size]byte) {
	for i, b := range sum {
		p := hexPairs[b]
		dst[2*i], dst[2*i+1] = p[0], p[1]
	}
}

// hashX2 runs blockX2 over two padded messages, which must be the same whole number of
// blocks: checked here, so the assembly never reads past either slice.
func hashX2(h0, h1 *[5]uint32, m0, m1 []byte) {
	if len(m0) != len(m1) || len(m0)%sha1.BlockSize != 0 {
		panic("cossign: hashX2 needs two messages of the same whole blocks")
	}
	if len(m0) > 0 {
		blockX2(h0, h1, &m0[0], &m1[0], len(m0)/sha1.BlockSize)
	}
}

// sha1IV is SHA-1's initial state.
var sha1IV = [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}

// stateWords returns h0..h4 of a marshaled crypto/sha1 state.
func stateWords(st []byte) (h [5]uint32) {
	for i := range h {
		h[i] = binary.BigEndian.Uint32(st[stateMagic+4*i:])
	}
	return h
}

// putWords writes a state as its digest: h0..h4 big-endian.
func putWords(dst *[sha1.Size]byte, h *[5]uint32) {
	for i, w := range h {
		binary.BigEndian.PutUint32(dst[4*i:], w)
	}
}
