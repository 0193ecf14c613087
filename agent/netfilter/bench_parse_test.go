package netfilter_test

import (
	"fmt"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
)

func BenchmarkParseSave(b *testing.B) {
	fw := netfiltertest.NewFirewall(netfilter.IPv4)
	for i := 0; i < 500; i++ {
		fw.Append("FORWARD", "-s", fmt.Sprintf("10.0.%d.%d/32", i/256, i%256), "-m", "comment", "--comment", "a rule", "-j", "ACCEPT")
	}
	out := []byte(fw.Save())
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := netfilter.ParseSave(out, false); err != nil {
			b.Fatal(err)
		}
	}
}
