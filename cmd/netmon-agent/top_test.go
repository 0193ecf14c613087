package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
)

func TestTop_DrawsAndQuitsOnQ(t *testing.T) {
	dir := t.TempDir()
	cfg := accounttest.MustConfig(t, "config agent\n\toption runtime_dir '"+dir+"/run'\n\toption database '"+dir+"/flash.db'\n")
	var out strings.Builder
	in, w := accounttest.NewPipe()
	done := make(chan error, 1)
	go func() { done <- top(context.Background(), cfg, in, &out, 10*time.Millisecond, true) }()
	time.Sleep(50 * time.Millisecond)
	w.Write([]byte("q"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("top did not quit on q")
	}
	got := out.String()
	if strings.Count(got, "\x1b[H\x1b[2J") < 2 || !strings.Contains(got, "no daemon answers") || !strings.Contains(got, "No hosts seen yet.\r\n") {
		t.Errorf("top drew:\n%q", got)
	}
}
