//go:build !amd64 || purego

package cossign

// Without the SHA extensions every part is signed alone through crypto/sha1.
var haveX2 = false

func blockX2(a, b *[5]uint32, pa, pb *byte, n int) {
	panic("cossign: blockX2 needs amd64's SHA extensions")
}
