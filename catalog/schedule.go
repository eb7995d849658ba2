package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// scheduleMacros are the schedules written as one word.
var scheduleMacros = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// cronField is one of the five fields of a cron schedule.
type cronField struct {
	name     string
	min, max int
	// names are the words the field accepts, for min, min+1, ...
	names []string
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// checkSchedule says why s is not a CronJob schedule, or returns nil. It
// reads schedules as Kubernetes does (the standard cron syntax of
// github.com/robfig/cron/v3): five fields — minute, hour, day of month,
// month, day of week — each a list of values, ranges ("1-5") and steps
// ("*/15", "0-30/5", "5/10"), with "*" or "?" for every value and the
// names of months and weekdays; or one of the @ macros. A time zone may
// not be set in the schedule (Kubernetes refuses it: spec.timeZone is
// the place).
func checkSchedule(s string) error {
	if strings.HasPrefix(s, "@") {
		for _, m := range scheduleMacros {
			if s == m {
				return nil
			}
		}
		return fmt.Errorf("unknown macro %s", s)
	}
	if strings.Contains(s, "TZ=") {
		return errors.New("a time zone cannot be set in the schedule")
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Errorf("%d fields, not 5", len(fields))
	}
	for i, f := range fields {
		for part := range strings.SplitSeq(f, ",") {
			if err := cronFields[i].check(part); err != nil {
				return fmt.Errorf("%s %w", cronFields[i].name, err)
			}
		}
	}
	return nil
}

// check checks one element of a field's list: a value, a range or "*",
// each optionally with a step.
func (c cronField) check(part string) error {
	span, step, stepped := strings.Cut(part, "/")
	if stepped {
		n, err := cronNumber(step)
		if err != nil || n < 1 {
			return fmt.Errorf("step %q is not a positive number", step)
		}
	}
	if span == "*" || span == "?" {
		return nil
	}
	first, last, isRange := strings.Cut(span, "-")
	lo, err := c.value(first)
	if err != nil {
		return err
	}
	hi := lo
	if isRange {
		if hi, err = c.value(last); err != nil {
			return err
		}
	}
	if lo > hi {
		return fmt.Errorf("range %s runs backwards", span)
	}
	return nil
}

// value reads a number or name of the field, within its bounds.
func (c cronField) value(s string) (int, error) {
	for i, name := range c.names {
		if strings.EqualFold(s, name) {
			return c.min + i, nil
		}
	}
	n, err := cronNumber(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < c.min || n > c.max {
		return 0, fmt.Errorf("%d is outside %d-%d", n, c.min, c.max)
	}
	return n, nil
}

// cronNumber reads a number written with digits only.
func cronNumber(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}
