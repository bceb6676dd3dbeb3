//go:build race

package otlpwire

// raceEnabled tells the property tests to draw fewer cases: the race
// detector slows them tenfold and they hold no concurrency.
const raceEnabled = true
