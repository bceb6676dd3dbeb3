package aggregation

import (
	"strings"
	"testing"
)

// TestPartitionKeyLen: Kinesis counts a partition key in UTF-16 code units, so a
// character outside the Basic Multilingual Plane counts twice.
func TestPartitionKeyLen(t *testing.T) {
	for key, want := range map[string]int{"": 0, "k": 1, "é": 1, "日本": 2, "😀": 2, "a😀b": 4, strings.Repeat("😀", 128): 256} {
		if got := PartitionKeyLen(key); got != want {
			t.Errorf("PartitionKeyLen(%q) = %d, want %d", key, got, want)
		}
	}
	if err := CheckPartitionKey(strings.Repeat("😀", 128)); err != nil {
		t.Errorf("256 code units refused: %v", err)
	}
	if err := CheckPartitionKey(strings.Repeat("😀", 129)); err == nil || !strings.Contains(err.Error(), "258") {
		t.Errorf("258 code units: %v", err)
	}
	for _, key := range []string{"", "\xff"} {
		if err := CheckPartitionKey(key); err == nil {
			t.Errorf("CheckPartitionKey(%q) = %v", key, err)
		}
	}
}
