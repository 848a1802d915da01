//go:build unix

package paths

import "syscall"

// openNonBlocking keeps an open from waiting: a FIFO opened for reading
// otherwise waits for a writer. It changes nothing for a regular file.
const openNonBlocking = syscall.O_NONBLOCK
