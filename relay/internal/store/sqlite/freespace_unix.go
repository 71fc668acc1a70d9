//go:build linux || darwin || freebsd

package sqlite

import "syscall"

// freeBytes is the space an unprivileged process may still allocate on dir's filesystem.
// Bavail rather than Bfree: the blocks reserved for root are no headroom to count on.
func freeBytes(dir string) (free uint64, ok bool, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true, nil
}
