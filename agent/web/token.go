package web

import (
	"encoding/hex"
	"fmt"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"golang.org/x/sys/unix"
)

// NewToken returns a fresh web token: 128 random bits in hex.
func NewToken() string {
	var b [16]byte
	unix.Getrandom(b[:], 0) // the kernel's RNG, as crypto/rand's, without its 0.14 MB; never fails on Linux
	return hex.EncodeToString(b[:])
}

// Token returns the config's web token, or an error that says how to set
// one.
func Token(cfg *config.Config) (string, error) {
	if cfg.Token == "" {
		return "", fmt.Errorf("no option token in %s's agent section: add option token '%s' (a new one), or on OpenWrt: uci set netmon.main.token=$(netmon-agent token --new); uci commit netmon", cfg.Path, NewToken())
	}
	return cfg.Token, nil
}
