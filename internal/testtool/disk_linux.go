package testtool

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TinyDisk mounts a 2 MiB tmpfs on a fresh directory for the test, unmounted at its end: a
// real filesystem that a test can fill, to see what a full disk does. Mounting needs root
// (or CAP_SYS_ADMIN): off CI the test skips loudly without it; in CI, which runs as root, a
// failed mount is a failure, so full-disk behaviour is always checked there.
func TinyDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=2m,mode=0700"); err != nil {
		if InCI() {
			t.Fatalf("mounting a tmpfs for a full-disk test failed in CI (the tests must run as root): %v", err)
		}
		t.Skipf("SKIPPED: cannot mount a tmpfs (%v); the full-disk test did not run (run the tests as root, CI does)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// FillDisk writes a file in dir until the filesystem refuses more, and returns its path;
// removing it frees the space again.
func FillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Big chunks first, then small ones for the last partial blocks.
	for _, size := range []int{64 << 10, 4 << 10, 512} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v", dir, err)
				}
				break
			}
		}
	}
	return path
}
