package config

import "github.com/ade-dev/ade-worker/internal/store"

// StoreOptions are the database settings as the store takes them: the one
// place where the settings, and so their defaults, become store.Options.
func (c Config) StoreOptions() store.Options {
	return store.Options{
		DataDir: c.DataDir, SQLiteJournalMode: c.SQLiteJournalMode, SQLiteSynchronous: c.SQLiteSynchronous,
		SQLiteBusyTimeout: c.SQLiteBusyTimeout(), AuthMode: c.DatabaseAuthMode, MIClientID: c.DatabaseMIClientID,
		PoolSize: c.DatabasePoolSize, MaxOverflow: c.DatabaseMaxOverflow, PoolTimeout: c.DatabasePoolTimeout,
		PoolRecycle: c.DatabasePoolRecycle,
	}
}
