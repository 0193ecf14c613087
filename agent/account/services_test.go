package account_test

import (
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/store"
)

// A service set element's growth goes to its address's host under its
// port's service, both ways; a configured service takes its ports; the
// baselines hold across a restart; a recreated set counts from zero.
func TestServices_CreditedToTheHostOfTheAddress(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 10, 5000)
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.2", "tcp/443", 6, 3000)
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.2", "udp/443", 3, 1500)
	r.Sets.Traffic(store.DirUpload, "2001:db8::2", 4, 400)
	r.Sets.ServiceTraffic(store.DirUpload, "2001:db8::2", "tcp/443", 4, 400)
	r.Sample()
	const mac = "02:00:00:00:00:0a"
	https, quic := r.Sampler.State.Services[store.ServiceKey(mac, "https")], r.Sampler.State.Services[store.ServiceKey(mac, "quic")]
	if https == nil || https.Download.Bytes != 3000 || https.Upload.Bytes != 400 || quic == nil || quic.Download.Bytes != 1500 {
		t.Fatalf("https %+v, quic %+v", https, quic)
	}
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.2", "tcp/443", 1, 100)
	r.Restart()
	r.Sample()
	if got := r.Sampler.State.Services[store.ServiceKey(mac, "https")].Download; got.Bytes != 3100 || got.Packets != 7 {
		t.Errorf("https after a restart: %+v, want 3100 bytes in 7 packets", got)
	}
}

func TestServices_ConfiguredPortsAndOff(t *testing.T) {
	r := newHostRig(t)
	r.Config = accounttest.MustConfig(t, lanConfig+"\nconfig service 'alt'\n\tlist port 'tcp/8080'\n\nconfig service 'https'\n\tlist port 'tcp/8443'\n")
	r.Sampler.Config = r.Config
	r.Sample()
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.3", "tcp/8080", 2, 200)
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.3", "tcp/8443", 1, 50)
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.3", "tcp/443", 1, 70) // no longer https: other
	r.Sample()
	st := r.Sampler.State.Services
	if st[store.ServiceKey("02:00:00:00:00:0b", "alt")].Download.Bytes != 200 || st[store.ServiceKey("02:00:00:00:00:0b", "https")].Download.Bytes != 50 {
		t.Errorf("services %v", st)
	}
	// option services '0': no service rules and no service sets.
	r.Config = accounttest.MustConfig(t, lanConfig+"\toption services '0'\n")
	r.Sampler.Config = r.Config
	r.Sample()
	if got := r.Fw4.Rendered(); strings.Contains(got, "multiport") {
		t.Errorf("services off, rules stay:\n%s", got)
	}
}
