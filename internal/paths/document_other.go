//go:build !unix

package paths

// openNonBlocking is 0 where opening a file never waits for another
// process (Windows has no FIFOs in its file system).
const openNonBlocking = 0
