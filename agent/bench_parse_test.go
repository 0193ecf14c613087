package agent

import (
	"fmt"
	"testing"
)

func BenchmarkParseSave(b *testing.B) {
	fw := newFakeFirewall(IPv4)
	for i := 0; i < 500; i++ {
		fw.Append("FORWARD", "-s", fmt.Sprintf("10.0.%d.%d/32", i/256, i%256), "-m", "comment", "--comment", "a rule", "-j", "ACCEPT")
	}
	out := []byte(fw.save())
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := parseSave(out, false); err != nil {
			b.Fatal(err)
		}
	}
}
