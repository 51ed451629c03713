//go:build !unix

package journal

import (
	"fmt"
	"os"
)

// lockFile only creates the lock file: there is no flock here.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: lock file: %w", err)
	}
	return f, nil
}
