package checksum

import (
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// The published check values of "123456789" (the CRC catalogue): Go's hash/crc64 with the
// ECMA table is CRC-64/XZ (COS's crc64ecma), the NVMe polynomial gives CRC-64/NVME.
func TestCheckValues(t *testing.T) {
	for _, tt := range []struct {
		a    *Algo
		want uint64
	}{{ECMA, 0x995dc9bbdf1939fa}, {NVME, 0xae8b14860a799888}} {
		if got := tt.a.Checksum([]byte("123456789")); got != tt.want {
			t.Errorf("%s: %#x, want %#x", tt.a.Name, got, tt.want)
		}
	}
}

// Combining the pieces' CRCs gives the whole's, for any split, empty pieces included.
func TestCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, a := range []*Algo{ECMA, NVME} {
		for range 200 {
			i := r.IntN(len(data) + 1)
			j := i + r.IntN(len(data)-i+1)
			x, y, z := data[:i], data[i:j], data[j:]
			got := a.Combine(a.Combine(a.Checksum(x), a.Checksum(y), int64(len(y))), a.Checksum(z), int64(len(z)))
			if want := a.Checksum(data); got != want {
				t.Fatalf("%s split %d/%d: %#x, want %#x", a.Name, i, j, got, want)
			}
		}
	}
}

func TestFormatParse(t *testing.T) {
	v := NVME.Checksum([]byte("123456789"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	if got := NVME.Format(v); got != base64.StdEncoding.EncodeToString(b[:]) {
		t.Errorf("NVME.Format = %s", got)
	}
	if got := ECMA.Format(0x995dc9bbdf1939fa); got != "11051210869376104954" {
		t.Errorf("ECMA.Format = %s", got)
	}
	for _, tt := range []struct {
		a  *Algo
		s  string
		ok bool
	}{
		{ECMA, "11051210869376104954", true}, {ECMA, "0", true}, {ECMA, "18446744073709551616", false},
		{ECMA, "-1", false}, {ECMA, "+1", false}, {ECMA, "", false}, {ECMA, "0x10", false},
		{NVME, NVME.Format(v), true}, {NVME, "AAAA", false}, {NVME, "not base64!", false}, {NVME, "", false},
	} {
		if _, ok := tt.a.Parse(tt.s); ok != tt.ok {
			t.Errorf("%s.Parse(%q) ok = %v", tt.a.Name, tt.s, ok)
		}
	}
	if Of("crc32") != nil || Of(CRC64NVME) != NVME || Of(CRC64ECMA) != ECMA {
		t.Error("Of")
	}
}

// BenchmarkCombinePlan joins the CRCs of a 48.8 TB plan's 10,000 parts of 5 GiB (the
// largest COS takes) as a client does after sending them in parallel: one Shift for the
// common part size, one multiplication a part.
func BenchmarkCombinePlan(b *testing.B) {
	const parts, size = 10000, 5 << 30
	crcs := make([]uint64, parts)
	for i := range crcs {
		crcs[i] = uint64(i) * 0x9E3779B97F4A7C15
	}
	for _, a := range []*Algo{ECMA, NVME} {
		b.Run(a.Name, func(b *testing.B) {
			for b.Loop() {
				shift := a.Shift(size)
				crc := crcs[0]
				for _, c := range crcs[1:] {
					crc = a.ShiftBy(shift, crc, c)
				}
				_ = crc
			}
		})
	}
}

// BenchmarkCombine is one join with its Shift: a piece of any length.
func BenchmarkCombine(b *testing.B) {
	for b.Loop() {
		_ = NVME.Combine(1, 2, 5<<30)
	}
}
