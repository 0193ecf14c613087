package account

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Clock tells the wall-clock time; tests pass a fake.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// DefaultBootIDPath is where Linux tells the id of the current boot.
const DefaultBootIDPath = "/proc/sys/kernel/random/boot_id"

// BootID reads the kernel's boot id from path: a new one means every
// counter in the kernel started again at zero.
func BootID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read boot id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("read boot id: %s is empty", path)
	}
	return id, nil
}

// Booted returns the sampler's Boot: BootID of path, read once where path
// is the kernel's (a process outlives no boot, and the read was a sample's
// hundredth), at every call where it is not (tests that reboot).
func Booted(path string) func() (string, error) {
	if path != DefaultBootIDPath {
		return func() (string, error) { return BootID(path) }
	}
	var mu sync.Mutex
	var id string
	return func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			return id, nil
		}
		b, err := BootID(path)
		id = b
		return b, err
	}
}
