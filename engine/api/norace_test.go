//go:build !race

package api

// raceEnabled says whether the race detector is on: its shadow memory makes
// resident-memory figures several times the heap's.
const raceEnabled = false
