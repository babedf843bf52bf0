package credentials

import (
	"sync"
	"time"
)

// cache keeps a set of temporary credentials until refresh before their end; concurrent
// callers past it share one fetch. AssumeRole and WebIdentity keep theirs in one.
type cache struct {
	mu     sync.Mutex
	cached Value
}

// get returns the cached set, or fetches a new one (kept only when the fetch succeeds).
func (c *cache) get(now func() time.Time, refresh time.Duration, fetch func() (Value, error)) (Value, error) {
	if now == nil {
		now = time.Now
	}
	if refresh == 0 {
		refresh = 5 * time.Minute
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached.AccessKeyID != "" && now().Add(refresh).Before(c.cached.Expires) {
		return c.cached, nil
	}
	v, err := fetch()
	if err != nil {
		return Value{}, err
	}
	c.cached = v
	return v, nil
}

// Invalidate drops the cached set, so the next call fetches again (COS answered that the
// credentials expired before their stated time).
func (c *cache) Invalidate() {
	c.mu.Lock()
	c.cached = Value{}
	c.mu.Unlock()
}
