//go:build unix

package paths

import "syscall"

// stageFlags keep the open of a staged input from following a link an
// engine left there or waiting for a reader of a FIFO.
const stageFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
