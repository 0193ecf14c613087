// Package report builds every view of the counted totals and history that
// people and programs read (the summary, history tables, the host table,
// the since-last report, blocks, the HTML page, exports and the /metrics
// exposition) and writes them as text, JSON, CSV or HTML.
//
// Builders are pure functions of a config, a store.State, history buckets
// and the time: they read and never change the state. Text layouts are
// pinned by the golden files in testdata/golden.
package report
