//go:build race

package consumer_test

// raceEnabled tells allocation tests that sync.Pool drops items at random under the race
// detector, so their counts vary from run to run.
const raceEnabled = true
