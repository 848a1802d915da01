//go:build !unix

package paths

// stageFlags are none where links and FIFOs cannot wait for an open.
const stageFlags = 0
