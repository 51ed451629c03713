//go:build unix

package history

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockDir takes an exclusive flock on dir/LOCK; it is released when the
// returned file is closed (or the process dies).
func lockDir(dir string) (*os.File, error) {
	path := dir + "/LOCK"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("history: lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (is sift serve running on this data dir?)", ErrLocked, dir)
		}
		return nil, fmt.Errorf("history: lock %s: %w", path, err)
	}
	return f, nil
}
