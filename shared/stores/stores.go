// Package stores is the registry of the stores a deployment may choose: each store
// package registers its settings and constructor from init (go-cloud's pattern), and
// config and app iterate the registry, never naming a store. A new store is its package
// plus one import line in shared/stores/all (or, for a development-only store, in a
// build-tagged file of the function that links it).
package stores

import (
	"net/http"
	"slices"
	"sync"

	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
)

// Settings are one store's environment variables: a pointer to a struct envconfig fills
// (its fields' envconfig tags name the variables), and what the store makes of them.
type Settings interface {
	// Configured reports whether the deployment chose this store (its selector is set).
	Configured() bool
	// Validate checks the settings, and what the policy asks of this store; errors name
	// the variable at fault (e.g. UPLOAD_ALLOW_STS on a store without temporary keys).
	Validate(p *policy.Policy) error
	// Open returns the store. It must not touch the network: credentials and the like
	// are fetched on first use.
	Open(httpClient *http.Client) (storage.Store, error)
}

// Driver is a store a deployment may choose, as each store package registers it.
type Driver struct {
	Name string // "cos", "s3", "local"
	// Selector is the variable that chooses the store (its bucket), for messages.
	Selector string
	// NewSettings returns empty settings for envconfig to fill.
	NewSettings func() Settings
	// Fallback marks the store used when none is configured (local mode's embedded store,
	// linked only into development builds).
	Fallback bool
}

var (
	mu      sync.Mutex
	drivers []Driver
)

// Register adds a store; store packages call it from init. Registering one name twice
// panics.
func Register(d Driver) {
	mu.Lock()
	defer mu.Unlock()
	for _, o := range drivers {
		if o.Name == d.Name {
			panic("stores: store " + d.Name + " registered twice")
		}
	}
	drivers = append(drivers, d)
	slices.SortFunc(drivers, func(a, b Driver) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
}

// Drivers lists the registered stores, by name.
func Drivers() []Driver {
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(drivers)
}
