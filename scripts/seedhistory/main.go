// Command seedhistory writes a live database holding a router's history,
// for scripts/bench-flash.sh to start the daemon on: every host busy every
// day for DAYS days (their daily, monthly and yearly rows), every hour of
// the last 14 days and every five minutes of the last 48 hours, with
// random amounts, as the default retention keeps them.
//
//	seedhistory -db LIVE.DB -macs 02:00:00:02:00:04-ff,02:00:00:00:01:02-03 [-days 365]
//
// MACS is FIRST-LAST over the last byte, or several with commas.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

func main() {
	path := flag.String("db", "", "the live database to write")
	macs := flag.String("macs", "", "the hosts' MACs, FIRST-LAST over the last byte")
	days := flag.Int("days", 365, "days of history")
	flag.Parse()
	hosts, err := expand(*macs)
	if err != nil || *path == "" {
		fail(fmt.Errorf("give -db and -macs (%v)", err))
	}
	db, err := store.Open(*path, time.Second)
	if err != nil {
		fail(err)
	}
	db.SetHistory(time.Local, store.DefaultRetention)
	now := time.Now().Truncate(5 * time.Minute)
	s := store.NewState()
	commit := func(t time.Time) {
		for _, mac := range hosts {
			for _, dir := range []string{store.DirDownload, store.DirUpload} {
				n := uint64(rand.Int64N(1 << (10 + rand.IntN(20))))
				s.AddDelta(store.HostSeries(mac, dir), t, store.Counts{Packets: n/900 + 1, Bytes: n + 64})
			}
		}
		if err := db.Commit(s); err != nil {
			fail(err)
		}
	}
	for t := now.AddDate(0, 0, -*days); t.Before(now.AddDate(0, 0, -14)); t = t.AddDate(0, 0, 1) {
		commit(t)
	}
	for t := now.AddDate(0, 0, -14); t.Before(now.Add(-48 * time.Hour)); t = t.Add(time.Hour) {
		commit(t)
	}
	for t := now.Add(-48 * time.Hour); t.Before(now); t = t.Add(5 * time.Minute) {
		commit(t)
	}
	if err := db.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seedhistory:", err)
	os.Exit(1)
}

// expand reads FIRST-LAST[,FIRST-LAST...] over a MAC's last byte (hex).
func expand(s string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(s, ",") {
		first, last, ok := strings.Cut(r, "-")
		mac, err := net.ParseMAC(first)
		hi, herr := strconv.ParseUint(last, 16, 8)
		if !ok || err != nil || herr != nil || len(mac) != 6 || byte(hi) < mac[5] {
			return nil, fmt.Errorf("%q: want FIRST-LAST, such as 02:00:00:02:00:04-ff", r)
		}
		for b := int(mac[5]); b <= int(hi); b++ {
			mac[5] = byte(b)
			out = append(out, mac.String())
		}
	}
	return out, nil
}
