package nlbwmon

import (
	"os"

	"github.com/netmon-agent/netmon-agent/agent/uci"
)

// DefaultDir is where nlbwmon keeps its databases unless its config says
// otherwise (OpenWrt's /etc/config/nlbwmon).
const DefaultDir = "/var/lib/nlbwmon"

// ConfiguredDir is the database_directory of nlbwmon's UCI config file, or
// DefaultDir when the file or the option is missing or unreadable.
func ConfiguredDir(configFile string) string {
	f, err := os.Open(configFile)
	if err != nil {
		return DefaultDir
	}
	defer f.Close()
	sections, err := uci.Parse(configFile, f)
	if err != nil {
		return DefaultDir
	}
	dir := DefaultDir
	for _, s := range sections {
		for _, o := range s.Options {
			if s.Type == "nlbwmon" && o.Name == "database_directory" && o.Value != "" {
				dir = o.Value
			}
		}
	}
	return dir
}
