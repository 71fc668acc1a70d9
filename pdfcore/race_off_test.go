//go:build !race

package pdfcore_test

// raceEnabled scales the time bounds of the hostile-input tests: the race detector makes
// every call several times slower.
const raceEnabled = false
