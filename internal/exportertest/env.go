package exportertest

import (
	"os"
	"strings"
	"testing"
)

// ClearEnv removes, for the rest of t, every environment variable that starts with one of
// prefixes (t.Setenv first, so that the test restores them), so that the machine's
// environment cannot leak into a test of configuration from the environment.
func ClearEnv(t *testing.T, prefixes ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				t.Setenv(k, "")
				os.Unsetenv(k)
				break
			}
		}
	}
}
