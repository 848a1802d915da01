package store

import "context"

// Probe is the readiness check: the database answers a real query and its
// schema is exactly current.
//
// On SQLite every pooled connection checks, before each statement, that
// the path still names the file it opened (see sqliteFile), and a new
// connection reads the header of a file no connection has open yet (see
// openFiles), so a file that was moved, deleted or replaced fails the probe
// instead of being answered from a file no other process sees. The probe
// opens nothing itself: a descriptor of the database opened and closed
// outside SQLite would drop this process's locks on it.
func (s *Store) Probe(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	return s.CheckSchema(ctx)
}
