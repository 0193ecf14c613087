//go:build noweb

package web

import (
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/config"
)

func TestNoWeb_ListenIsRefusedClearly(t *testing.T) {
	_, err := Start(&config.Config{Listen: "127.0.0.1:8080"}, nil, nil, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "built without the web server") {
		t.Errorf("Start: %v", err)
	}
}
