//go:build noweb

package agent

import (
	"strings"
	"testing"
)

func TestNoWeb_ListenIsRefusedClearly(t *testing.T) {
	_, err := startWeb(&Config{Listen: "127.0.0.1:8080"}, nil, nil, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "built without the web server") {
		t.Errorf("startWeb: %v", err)
	}
}
