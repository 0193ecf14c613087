package daemon

import "github.com/netmon-agent/netmon-agent/store"

// flashWritten logs and counts what a persist wrote to flash: the bytes
// written a day are what wears the flash chip out, so /metrics has them.
func (d *daemon) flashWritten(p store.Persisted) {
	if p.Bytes == 0 {
		return
	}
	kind := "journal"
	if p.Full {
		kind = "snapshot"
	}
	if d.flashBytes == nil {
		d.flashBytes = map[string]uint64{}
	}
	d.flashBytes[kind] += uint64(p.Bytes)
	if p.Full {
		d.logf("snapshot written to %s (%d bytes)", d.a.Config().Database, p.Bytes)
		return
	}
	d.logf("journal record written to %s (%d bytes, %d keys and buckets changed)", store.JournalPath(d.a.Config().Database), p.Bytes, p.Changes)
}
