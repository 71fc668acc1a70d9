//go:build race

package server_test

// raceEnabled: this test binary runs with the race detector.
const raceEnabled = true
