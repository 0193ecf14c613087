package netfilter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzIptablesSave(f *testing.F) {
	addFiles(f, "*tables*.save")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, all := range []bool{false, true} {
			_, err := ParseSave(data, all)
			oneLine(t, err)
		}
	})
}

func FuzzSetListings(f *testing.F) {
	addFiles(f, "nft-list-*.txt")
	f.Add([]byte("create netmon-dl4 hash:ip family inet hashsize 1024 maxelem 65536 counters\nadd netmon-dl4 198.18.1.2 packets 3 bytes 300\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sets, err := ParseIpsetSave(data)
		oneLine(t, err)
		for _, s := range sets {
			for addr := range s.Elements {
				if !addr.IsValid() {
					t.Fatalf("ipset element %v", addr)
				}
			}
		}
		_, err = parseNftList(data)
		oneLine(t, err)
	})
}

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// oneLine asserts an error message is one line, as README promises.
func oneLine(t *testing.T, err error) {
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error spans lines: %q", err)
	}
}
