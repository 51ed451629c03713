//go:build !unix

package history

import (
	"fmt"
	"os"
)

// lockDir only creates the lock file: there is no flock here.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("history: lock file: %w", err)
	}
	return f, nil
}
