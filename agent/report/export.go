package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Exports for graphs and spreadsheets: one row per bucket, one column per
// meter (and per host and direction with --hosts), header first.

// ExportUnits are the units export divides bytes by.
var ExportUnits = map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

// WriteExport writes r as csv, tsv or json in unit.
func WriteExport(w io.Writer, r *HistoryReport, format, unit string) error {
	div, ok := ExportUnits[unit]
	if !ok {
		return fmt.Errorf("unknown unit %q (B, KiB, MiB or GiB)", unit)
	}
	header := []string{"Date"}
	header = append(header, r.Meters...)
	for _, label := range hostLabels(r) {
		header = append(header, label+" download", label+" upload")
	}
	value := func(b uint64) string {
		if unit == "B" {
			return strconv.FormatUint(b, 10)
		}
		return strconv.FormatFloat(float64(b)/div, 'f', 3, 64)
	}
	var rows [][]string
	for _, row := range r.Rows {
		cols := []string{bucketLabel(r.Resolution, row.Start)}
		if r.Resolution == "day" {
			cols[0] = row.Start.Format("2006-01-02")
		}
		for _, m := range r.Meters {
			cols = append(cols, value(row.Meters[m]))
		}
		for _, m := range r.Hosts {
			v := row.PerHost[m]
			cols = append(cols, value(v[0]), value(v[1]))
		}
		rows = append(rows, cols)
	}
	switch format {
	case "csv", "tsv":
		cw := csv.NewWriter(w)
		if format == "tsv" {
			cw.Comma = '\t'
		}
		cells := make([]string, len(header))
		for i, h := range header {
			cells[i] = spreadsheetCell(h)
		}
		cw.Write(cells)
		cw.WriteAll(rows)
		return cw.Error()
	case "json":
		out := make([]map[string]any, 0, len(rows))
		for _, row := range rows {
			m := map[string]any{header[0]: row[0]}
			for i, h := range header[1:] {
				m[h] = json.Number(row[i+1])
			}
			out = append(out, m)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"unit": unit, "columns": header, "rows": out})
	}
	return fmt.Errorf("unknown format %q (csv, tsv or json)", format)
}

// spreadsheetCell keeps a cell from being read as a formula: host names
// are chosen by the devices, and a spreadsheet runs a cell that starts
// with = + - @ (or a tab or carriage return). Such a cell gets a leading ',
// which spreadsheet tools take as "text".
func spreadsheetCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// hostLabels names each host's columns, in r.Hosts' order: its name where
// that is unique among them (and no meter's), else "name (MAC)", else the
// MAC. Columns are the MAC's: two phones both called iPhone each keep
// theirs.
func hostLabels(r *HistoryReport) []string {
	uses := map[string]int{}
	for _, m := range r.Meters {
		uses[m]++
	}
	for _, m := range r.Hosts {
		if n := r.Names[m]; n != "" {
			uses[n]++
		}
	}
	labels := make([]string, len(r.Hosts))
	for i, m := range r.Hosts {
		switch n := r.Names[m]; {
		case n == "":
			labels[i] = m
		case uses[n] > 1:
			labels[i] = n + " (" + m + ")"
		default:
			labels[i] = n
		}
	}
	return labels
}
