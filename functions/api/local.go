//go:build !nolocal

package main

// Local mode's embedded store, for `go run ./functions/api` with no bucket configured.
// scripts/build's production builds set the nolocal tag, so deployed functions never
// link it.
import _ "github.com/directup/directup/shared/localmode"
