package agent_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
)

func TestMain(m *testing.M) {
	if socket := os.Getenv("NETMON_ASK_SOCKET"); socket != "" {
		// A client re-executed as another user: ask, print what came back.
		_, err := control.Ask[report.Report](socket, control.Request{Op: control.OpReport}, 5*time.Second)
		if err != nil {
			os.Stdout.WriteString(err.Error())
		} else {
			os.Stdout.WriteString("answered")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The daemon answers root only: the socket is 0600 in a 0700 directory,
// and a client of another user is refused even when someone loosened both.
func TestControl_AnswersRootOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("asking as another user needs root")
		}
		t.Skip("asking as another user needs root")
	}
	// Not t.TempDir: its parent is closed to other users.
	dir, err := os.MkdirTemp("", "netmon-control-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "netmon.sock")
	ln, err := control.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	calls, done := make(chan control.Call), make(chan struct{})
	defer func() { close(done); ln.Close() }()
	go control.Serve(ln, calls, done)
	go func() {
		for c := range calls {
			c.Reply <- control.Response{Body: &report.Report{}}
		}
	}()
	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want a socket of mode 0600", fi.Mode())
	}
	if _, err := control.Ask[report.Report](socket, control.Request{Op: control.OpReport}, time.Second); err != nil {
		t.Fatalf("root asking: %v", err)
	}

	// The test binary, where user nobody can run it.
	self, _ := os.Executable()
	bin := filepath.Join(dir, "client")
	copyFile(t, self, bin, 0o755)
	os.Chmod(dir, 0o755)
	ask := func() string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "NETMON_ASK_SOCKET="+socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ENOEXEC) {
			t.Skip("cannot re-execute the test binary (qemu-user without binfmt); the native run asks")
		}
		if err != nil {
			t.Fatalf("client as nobody: %v: %s", err, out)
		}
		return string(out)
	}
	if out := ask(); !strings.Contains(out, "permission denied") {
		t.Errorf("nobody through a 0600 socket: %q, want permission denied", out)
	}
	os.Chmod(socket, 0o666)
	if out := ask(); !strings.Contains(out, "daemon: permission denied: uid 65534 is not root") {
		t.Errorf("nobody through a loosened socket: %q, want refused by uid", out)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
