package uploadplan

import (
	"errors"
	"testing"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
)

func TestNewPlan(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		name           string
		size, partSize int64
		wantPart       int64
		wantCount      int
		wantLast       int64
		wantField      string
	}{
		{"empty object is one empty part", 0, 0, 8 * MiB, 1, 0, ""},
		{"small file, default part", 100, 0, 8 * MiB, 1, 100, ""},
		{"exact multiple", 24 * MiB, 0, 8 * MiB, 3, 8 * MiB, ""},
		{"remainder in last part", 20*MiB + 5, 5 * MiB, 5 * MiB, 5, 5, ""},
		{"default grows to fit 10,000 parts", 100 << 30, 0, 11 * MiB, 9310, 100<<30 - 9309*11*MiB, ""},
		{"largest object", storage.MaxTotalSize, 0, storage.MaxPartSize, storage.MaxParts, storage.MaxPartSize, ""},
		{"explicit part size too small to fit", 100 << 30, 5 * MiB, 0, 0, 0, "partSize"},
		{"part size under 1 MiB", 10 * MiB, MiB - 1, 0, 0, 0, "partSize"},
		{"part size over 5 GiB", 10 * MiB, storage.MaxPartSize + 1, 0, 0, 0, "partSize"},
		{"negative size", -1, 0, 0, 0, 0, "size"},
		{"over the multipart maximum", storage.MaxTotalSize + 1, 0, 0, 0, 0, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.size, tt.partSize, 8*MiB)
			if tt.wantField != "" {
				var e *errcode.Error
				if !errors.As(err, &e) || e.Field != tt.wantField {
					t.Fatalf("err = %v, want field %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.PartSize != tt.wantPart || p.PartCount != tt.wantCount || p.SizeOf(p.PartCount) != tt.wantLast {
				t.Errorf("plan = %+v last %d, want part %d count %d last %d", p, p.SizeOf(p.PartCount), tt.wantPart, tt.wantCount, tt.wantLast)
			}
			if p.PartCount > storage.MaxParts || (p.PartSize < storage.MinPartSize) || p.PartSize > storage.MaxPartSize {
				t.Errorf("plan %+v breaks COS limits", p)
			}
			var sum int64
			for n := 1; n <= p.PartCount; n++ {
				sum += p.SizeOf(n)
			}
			if sum != tt.size {
				t.Errorf("parts add up to %d, want %d", sum, tt.size)
			}
			if p.SizeOf(0) != -1 || p.SizeOf(p.PartCount+1) != -1 {
				t.Error("SizeOf outside the plan must be -1")
			}
		})
	}
}
