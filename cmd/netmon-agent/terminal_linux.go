package main

import "golang.org/x/sys/unix"

// rawKeys puts the terminal on fd into a mode where each key press is read
// at once and not echoed (so `top` sees q without Enter). It returns how to
// restore the terminal, and false when fd is no terminal.
func rawKeys(fd int) (restore func(), ok bool) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}, false
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
	raw.Oflag &^= unix.OPOST
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return func() {}, false
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, true
}
