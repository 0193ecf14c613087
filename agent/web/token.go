package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/netmon-agent/netmon-agent/agent/config"
)

// NewToken returns a fresh web token: 128 random bits in hex.
func NewToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails on Linux
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
