package main

import "testing"

// TestBoundedLoad is the CI-sized run: 64 concurrent clients, 1,600 uploads (4,640
// requests). Every call must succeed and the live heap must not grow with the number of
// uploads served. No timing is asserted: throughput is measured by the command itself.
func TestBoundedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	r := run(options{concurrency: 64, uploads: 1600, size: 2048, dir: t.TempDir()})
	if len(r.errors) > 0 {
		t.Fatalf("%d unexpected errors, first: %v", len(r.errors), r.errors[0])
	}
	if r.requests != 4640 {
		t.Fatalf("%d requests, want 4640", r.requests)
	}
	// Flat memory: what is live at the end is close to what was live at the first quarter.
	if growth := r.heapMB[3] - r.heapMB[0]; growth > 8 {
		t.Errorf("live heap grew %.1f MB across the run (%v)", growth, r.heapMB)
	}
}
