// Package reliability holds the tests that prove the worker's promise with
// real processes: it loses no run, runs nothing twice at once, and lets no
// input escape its folder. They build the ade-worker binary once, start
// real worker processes on a shared SQLite file, and kill, stop, lock and
// feed them hostile input. The engine and the environment builds are played
// by testdata/fakepython, so no virtual environment is built.
//
// docs/reliability.md lists every scenario with the test that proves it.
package reliability
