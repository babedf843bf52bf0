// Package checksum is the whole-object CRC-64s the stores keep: CRC-64/XZ, which COS
// calls crc64ecma (Go's crc64.ECMA table with hash/crc64's conventions: reflected, all-ones
// initial and final value), and CRC-64/NVME, S3's crc64nvme (the same conventions with the
// NVMe polynomial, as aws-sdk-go-v2 computes it). Combine joins the CRCs of consecutive
// pieces without their bytes (zlib's crc32_combine, for 64 bits), so a client that sends
// parts in parallel computes the whole object's value from its parts' values.
package checksum

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc64"
	"strconv"
)

// Algorithm names, as the API spells them (the store's capability, the initiate answer's
// checksumAlgorithm and the complete's checksum field).
const (
	CRC64ECMA = "crc64ecma" // COS: decimal text
	CRC64NVME = "crc64nvme" // S3: base64 of the 8 bytes, big-endian
)

// Reflected polynomials, as crc64.MakeTable takes them.
const (
	polyECMA = 0xC96C5795D7870F42 // crc64.ECMA
	polyNVME = 0x9A6C9329AC4BC9B5
)

// Algo is one CRC-64 variant.
type Algo struct {
	Name  string
	Table *crc64.Table
	poly  uint64
	x2n   [64]uint64 // x^(2^k) mod p
}

var (
	// ECMA is CRC-64/XZ, COS's x-cos-hash-crc64ecma.
	ECMA = newAlgo(CRC64ECMA, polyECMA)
	// NVME is CRC-64/NVME, S3's x-amz-checksum-crc64nvme.
	NVME = newAlgo(CRC64NVME, polyNVME)
)

// Of returns the variant an algorithm name names, or nil.
func Of(name string) *Algo {
	switch name {
	case CRC64ECMA:
		return ECMA
	case CRC64NVME:
		return NVME
	}
	return nil
}

func newAlgo(name string, poly uint64) *Algo {
	a := &Algo{Name: name, Table: crc64.MakeTable(poly), poly: poly}
	p := uint64(1) << 62 // x^1; bit 63 is x^0 in the reflected order
	a.x2n[0] = p
	for k := 1; k < 64; k++ {
		p = a.mulmod(p, p)
		a.x2n[k] = p
	}
	return a
}

// Checksum is the CRC of b.
func (a *Algo) Checksum(b []byte) uint64 { return crc64.Checksum(b, a.Table) }

// Update folds b into a running CRC (0 to start), as crc64.Update.
func (a *Algo) Update(crc uint64, b []byte) uint64 { return crc64.Update(crc, a.Table, b) }

// mulmod is x*y modulo the polynomial, in the reflected order.
func (a *Algo) mulmod(x, y uint64) uint64 {
	var p uint64
	for m := uint64(1) << 63; m != 0; m >>= 1 {
		if x&m != 0 {
			p ^= y
			if x&(m-1) == 0 {
				break
			}
		}
		if y&1 != 0 {
			y = y>>1 ^ a.poly
		} else {
			y >>= 1
		}
	}
	return p
}

// Shift is the operator that appends n zero bytes to a CRC; Combine's cost is in it, so
// callers joining many pieces of one size make it once (ShiftBy).
func (a *Algo) Shift(n int64) uint64 {
	p := uint64(1) << 63 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = a.mulmod(a.x2n[k&63], p)
		}
	}
	return p
}

// Combine is the CRC of A followed by B, from crcA, crcB and B's length.
func (a *Algo) Combine(crcA, crcB uint64, lenB int64) uint64 {
	return a.ShiftBy(a.Shift(lenB), crcA, crcB)
}

// ShiftBy is Combine with B's length given as its Shift.
func (a *Algo) ShiftBy(shift, crcA, crcB uint64) uint64 { return a.mulmod(shift, crcA) ^ crcB }

// Format writes a CRC the way the algorithm's store answers it.
func (a *Algo) Format(crc uint64) string {
	if a == NVME {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], crc)
		return base64.StdEncoding.EncodeToString(b[:])
	}
	return strconv.FormatUint(crc, 10)
}

// Parse reads a CRC written as the algorithm's store writes it; ok is false for anything
// else (a decimal out of range, base64 of other than 8 bytes).
func (a *Algo) Parse(s string) (crc uint64, ok bool) {
	if a == NVME {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 8 {
			return 0, false
		}
		return binary.BigEndian.Uint64(b), true
	}
	if s == "" || len(s) > 20 || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}
