package router

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadRefusesWhatTheStoreWould: a queue: section the store would
// refuse at start is an error of the file, with its position, so that
// check and a reload refuse it as serve would.
func TestLoadRefusesWhatTheStoreWould(t *testing.T) {
	tests := []struct {
		name, queue, wantErr string
	}{
		{"dedup window within the retention", "queue:\n  dedup_window: 168h\n", ""},
		{"dedup window past the retention", "queue:\n  dedup_window: 200h\n",
			"2:17: queue: the dedup window (200h0m0s) cannot be longer than the events' retention (168h0m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.yaml")
			body := tt.queue + "sources:\n  s: { vendor: sleekplan, key: k }\nrules:\n  - name: r\n    actions: [ { http: { url: \"https://example.com/\" } } ]\n"
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, noEnv, BuildOptions{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != path+":"+tt.wantErr):
				t.Fatalf("Load = %v, want %q", err, path+":"+tt.wantErr)
			}
		})
	}
}
