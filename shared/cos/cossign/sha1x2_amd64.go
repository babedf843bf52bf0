//go:build amd64 && !purego

package cossign

//go:generate go run sha1x2_gen.go

// blockX2 runs SHA-1's block function over n blocks of two messages at once (pa and pb
// each point at n*64 bytes), updating the states a and b (h0..h4).
//
//go:noescape
func blockX2(a, b *[5]uint32, pa, pb *byte, n int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// haveX2 reports the SHA extensions (CPUID.(EAX=7,ECX=0):EBX bit 29) with SSSE3 and SSE4.1
// (CPUID.1:ECX bits 9 and 19), which blockX2 uses. golang.org/x/sys/cpu does not report
// the SHA extensions, hence the CPUID here. A variable so tests can take the other path.
var haveX2 = func() bool {
	if maxLeaf, _, _, _ := cpuid(0, 0); maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	return c1&(1<<9) != 0 && c1&(1<<19) != 0 && b7&(1<<29) != 0
}()
