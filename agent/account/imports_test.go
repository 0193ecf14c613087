package account

import (
	"maps"
	"os"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/nlbwmon"
	"github.com/netmon-agent/netmon-agent/store"
)

// The lab's hosts in nlbwmon's files: a used HTTPS (tcp/443), b a port
// nlbwmon's list names no protocol for.
const (
	macA = "02:00:00:00:01:02"
	macB = "02:00:00:00:01:03"
)

// nlbwPeriods reads nlbwmon's own files of the three months (see
// agent/nlbwmon/testdata), each written when the period ended.
func nlbwPeriods(t *testing.T, loc *time.Location) []*nlbwmon.Period {
	t.Helper()
	periods, err := nlbwmon.Read([]string{"../nlbwmon/testdata/monthly"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range periods {
		p.Written = p.Interval.End(p.Start).In(loc)
	}
	return periods
}

// csvTotal is host mac's download and upload bytes in a period, as `nlbw
// -c csv` printed them, with port (0 for all ports).
func periodTotal(p *nlbwmon.Period, mac string, port uint16) (dl, ul uint64) {
	for _, r := range p.Records {
		if r.MAC == mac && (port == 0 || r.Port == port) {
			dl, ul = dl+r.Download.Bytes, ul+r.Upload.Bytes
		}
	}
	return dl, ul
}

func webOnly(p netfilter.ServicePort) string {
	if p == (netfilter.ServicePort{Proto: 6, Port: 443}) {
		return "web"
	}
	return ""
}

func newImporter(loc *time.Location, created, now time.Time, counted map[string]store.Directions) (*Importer, *[]time.Time) {
	st := store.NewState()
	st.Created = created
	var asked []time.Time
	return &Importer{State: st, Now: now, Loc: loc, ServiceOf: webOnly,
		Counted: func(until time.Time) (map[string]store.Directions, error) {
			asked = append(asked, until)
			return counted, nil
		}}, &asked
}

// Installed after nlbwmon's last period: every period is filed, each
// host's totals and its month rows equal what nlbwmon counted, its HTTPS
// is its service "web", and a second import changes nothing.
func TestImport_PeriodsBeforeOurFirstSample(t *testing.T) {
	loc := time.FixedZone("router", 3600)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, loc)
	im, asked := newImporter(loc, time.Date(2026, 12, 2, 9, 0, 0, 0, loc), now, nil)
	periods := nlbwPeriods(t, loc)
	got, err := im.Import(periods)
	if err != nil {
		t.Fatal(err)
	}
	var wantA, wantB [2]uint64
	for i, p := range periods {
		if got[i].Status != ImportDone || got[i].Hosts != 3-min(i, 1) {
			t.Errorf("%s: %+v", p.Start, got[i])
		}
		for _, mac := range []string{macA, macB} {
			dl, ul := periodTotal(p, mac, 0)
			row := store.Month.Start(p.Start.In(loc)).Unix()
			rowDL := im.State.Deltas[store.DeltaKey{Series: store.HostSeries(mac, store.DirDownload), Slot: row, From: store.Month}]
			rowUL := im.State.Deltas[store.DeltaKey{Series: store.HostSeries(mac, store.DirUpload), Slot: row, From: store.Month}]
			if rowDL.Bytes != dl || rowUL.Bytes != ul {
				t.Errorf("%s %s: month row %d/%d, nlbw says %d/%d", p.Start, mac, rowDL.Bytes, rowUL.Bytes, dl, ul)
			}
		}
		dl, ul := periodTotal(p, macA, 0)
		wantA[0], wantA[1] = wantA[0]+dl, wantA[1]+ul
		dl, ul = periodTotal(p, macB, 0)
		wantB[0], wantB[1] = wantB[0]+dl, wantB[1]+ul
	}
	a, b := im.State.Hosts[macA], im.State.Hosts[macB]
	if a.Download.Bytes != wantA[0] || a.Upload.Bytes != wantA[1] || b.Download.Bytes != wantB[0] || b.Upload.Bytes != wantB[1] {
		t.Errorf("totals a %+v b %+v, want %v %v", a.Usage, b.Usage, wantA, wantB)
	}
	if m := a.ThisMonth(); m.Download.Bytes != 0 || a.Today().Upload.Bytes != 0 {
		t.Errorf("past periods count in this month or today: %+v", a.Usage)
	}
	if web := im.State.Services[store.ServiceKey(macA, "web")]; web == nil || web.Download != a.Download || web.Upload != a.Upload {
		t.Errorf("a's HTTPS as service web: %+v, totals %+v", web, a.Usage)
	}
	if len(*asked) != 0 {
		t.Errorf("asked what we counted up to %v: no period reaches our first sample", *asked)
	}
	before := maps.Clone(im.State.Deltas)
	again, err := im.Import(periods)
	if err != nil || again[0].Status != ImportAgain || !maps.Equal(before, im.State.Deltas) || im.State.Hosts[macA].Download != a.Download {
		t.Errorf("a second import: %+v, %v", again, err)
	}
}

// Installed in the middle of November, with nlbwmon running on to the
// month's end: November is filed up to our first sample, what we counted
// since coming off each host (its service scaled alike), and it counts
// in this month's figures when November is this month.
func TestImport_APeriodPastOurFirstSampleIsSplitThere(t *testing.T) {
	loc := time.UTC
	first := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, loc)
	ours := map[string]store.Directions{macA: {Download: store.Counts{Bytes: 1_000_000, Packets: 50}, Upload: store.Counts{Bytes: 500_000, Packets: 40}}}
	im, asked := newImporter(loc, first, now, ours)
	periods := nlbwPeriods(t, loc)
	nov := periods[2]
	nov.Written = time.Date(2026, 11, 29, 23, 0, 0, 0, loc)
	got, err := im.Import(periods)
	if err != nil {
		t.Fatal(err)
	}
	if got[2].Status != ImportSplit || !got[2].End.Equal(first) || len(*asked) != 1 || !(*asked)[0].Equal(nov.Written) {
		t.Fatalf("November: %+v, asked %v", got[2], *asked)
	}
	rec := im.State.Imports["nlbwmon/2026-11-01"]
	dl, ul := periodTotal(nov, macA, 0)
	if rec == nil || !rec.End.Equal(first) || rec.From != store.Month {
		t.Errorf("record %+v", rec)
	}
	a := im.State.Hosts[macA]
	sepOct := func(mac string) (uint64, uint64) {
		d1, u1 := periodTotal(periods[0], mac, 0)
		d2, u2 := periodTotal(periods[1], mac, 0)
		return d1 + d2, u1 + u2
	}
	prevDL, prevUL := sepOct(macA)
	if a.Download.Bytes != prevDL+dl-1_000_000 || a.Upload.Bytes != prevUL+ul-500_000 {
		t.Errorf("a: %+v; nlbwmon %d/%d before, November %d/%d, ours 1000000/500000", a.Usage, prevDL, prevUL, dl, ul)
	}
	if m := a.ThisMonth(); m.Download.Bytes != dl-1_000_000 {
		t.Errorf("this month (November) %+v, want November's import %d", m, dl-1_000_000)
	}
	web := im.State.Services[store.ServiceKey(macA, "web")]
	if web.Download.Bytes != a.Download.Bytes || web.Upload.Bytes != a.Upload.Bytes {
		t.Errorf("a's only port is web's: service %+v, host %+v", web.Usage, a.Usage)
	}
}

// Installed on October 15th: November started after our first sample and
// is ours; October is split, September filed whole.
func TestImport_APeriodAfterOurFirstSampleIsOurs(t *testing.T) {
	loc := time.UTC
	im, _ := newImporter(loc, time.Date(2026, 10, 15, 0, 0, 0, 0, loc), time.Date(2026, 12, 7, 0, 0, 0, 0, loc), nil)
	got, err := im.Import(nlbwPeriods(t, loc))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != ImportDone || got[1].Status != ImportSplit || got[2].Status != ImportCounted {
		t.Errorf("%+v", got)
	}
	if im.State.Imports["nlbwmon/2026-11-01"] != nil {
		t.Error("November recorded as imported")
	}
}

// A failure to read what we counted files nothing.
func TestImport_NothingFiledOnError(t *testing.T) {
	loc := time.UTC
	im, _ := newImporter(loc, time.Date(2026, 11, 15, 0, 0, 0, 0, loc), time.Date(2026, 12, 7, 0, 0, 0, 0, loc), nil)
	im.Counted = func(time.Time) (map[string]store.Directions, error) { return nil, os.ErrPermission }
	if _, err := im.Import(nlbwPeriods(t, loc)); err == nil {
		t.Fatal("no error")
	}
	if len(im.State.Hosts) != 0 || len(im.State.Deltas) != 0 || len(im.State.Imports) != 0 || im.State.Dirty() {
		t.Errorf("filed: %d hosts, %d deltas, %d imports", len(im.State.Hosts), len(im.State.Deltas), len(im.State.Imports))
	}
}
