package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/directup/directup/shared/storage"
)

// Fits refuses a policy the store cannot keep; the error names the variable.
func (p *Policy) Fits(c storage.Capabilities) error {
	for _, sc := range p.AllowedStorageClasses {
		if !slices.Contains(c.StorageClasses, sc) {
			return fmt.Errorf("UPLOAD_ALLOWED_STORAGE_CLASSES: %s is not available on this store (it has %s)", sc, strings.Join(c.StorageClasses, ", "))
		}
	}
	for _, a := range p.AllowedACLs {
		if a != "default" && !slices.Contains(c.ACLs, a) {
			return fmt.Errorf("UPLOAD_ALLOWED_ACLS: %s is not available on this store", a)
		}
	}
	if p.RequireChecksum && c.Checksum == "" {
		return errors.New("UPLOAD_REQUIRE_CHECKSUM: this store keeps no whole-object checksum")
	}
	if p.AllowGrants && !c.Grants {
		return errors.New("UPLOAD_ALLOW_GRANTS: this store has no per-grantee permissions; use UPLOAD_ALLOWED_ACLS")
	}
	if p.DefaultPartSize < c.MinPartSize || p.DefaultPartSize > c.MaxPartSize {
		return fmt.Errorf("UPLOAD_PART_SIZE: this store takes parts of %d to %d bytes", c.MinPartSize, c.MaxPartSize)
	}
	if p.MaxSize > c.MaxPartSize*int64(c.MaxParts) {
		return fmt.Errorf("UPLOAD_MAX_SIZE: this store holds objects of at most %d bytes", c.MaxPartSize*int64(c.MaxParts))
	}
	return nil
}
