package config

import "time"

// PeriodStart is when the period holding t began: local midnight for a
// day; for a month, midnight of billing day start, clamped to the month's
// last day (day 31 in February is the 28th or 29th).
func PeriodStart(t time.Time, period string, start int) time.Time {
	y, m, d := t.Date()
	if period == "day" {
		return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	}
	this := billingDay(y, m, start, t.Location())
	if !t.Before(this) {
		return this
	}
	return billingDay(y, m-1, start, t.Location())
}

// NextPeriod is when the period after the one holding t begins.
func NextPeriod(t time.Time, period string, start int) time.Time {
	p := PeriodStart(t, period, start)
	if period == "day" {
		y, m, d := p.Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, p.Location())
	}
	y, m, _ := p.Date()
	return billingDay(y, m+1, start, p.Location())
}

func billingDay(y int, m time.Month, day int, loc *time.Location) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, loc) // normalises m out of 1..12
	last := first.AddDate(0, 1, -1).Day()
	if day > last {
		day = last
	}
	return time.Date(first.Year(), first.Month(), day, 0, 0, 0, 0, loc)
}
