//go:build !race

package otlpwire

// raceEnabled tells the property tests to draw fewer cases under -race.
const raceEnabled = false
