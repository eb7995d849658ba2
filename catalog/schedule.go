package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
)

// cronFieldNames are the five fields of a cron schedule, in order.
var cronFieldNames = [5]string{"minute", "hour", "day of month", "month", "day of week"}

// checkSchedule says why s is not a CronJob schedule, or returns nil. It
// reads schedules as Kubernetes does (pkg/apis/batch/validation): with
// cron.ParseStandard of github.com/robfig/cron/v3 — five fields (minute,
// hour, day of month, month, day of week) or a descriptor such as @daily
// or "@every 1h" — and refusing any "TZ" in the schedule, since a time
// zone belongs in spec.timeZone. The reason names the field at fault.
func checkSchedule(s string) error {
	// Checked first, as robfig's parser would also read a leading TZ= or
	// CRON_TZ= (and panics on one not followed by a space).
	if strings.Contains(s, "TZ") {
		return errors.New("a time zone cannot be set in the schedule (Kubernetes refuses TZ and CRON_TZ in it)")
	}
	_, err := cron.ParseStandard(s)
	if err == nil {
		return nil
	}
	fields := strings.Fields(s)
	if len(fields) != 5 || strings.HasPrefix(s, "@") {
		return scheduleReason(err, "")
	}
	// robfig's reason does not say which field it is about: parse each
	// field alone to find the first one at fault, as robfig reports it.
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, ferr := cron.ParseStandard(strings.Join(probe, " ")); ferr != nil {
			return fmt.Errorf("%s: %w", cronFieldNames[i], scheduleReason(ferr, cronFieldNames[i]))
		}
	}
	return scheduleReason(err, "")
}

// scheduleReason rewords robfig's one reason that names Go internals
// ("failed to parse int from x: strconv.Atoi: parsing ..."); its other
// reasons ("end of range (61) above maximum (59): 61") are kept. field
// is the field the reason is about, if known.
func scheduleReason(err error, field string) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "failed to parse int from ")
	if !ok {
		return err
	}
	i := strings.LastIndex(rest, ": strconv.Atoi: ")
	if i < 0 {
		return err
	}
	value := rest[:i]
	if strings.HasSuffix(rest, "value out of range") {
		return fmt.Errorf("%q is too large", value)
	}
	switch field {
	case "month":
		return fmt.Errorf("%q is not a number or a month name (jan-dec)", value)
	case "day of week":
		return fmt.Errorf("%q is not a number or a weekday name (sun-sat)", value)
	}
	return fmt.Errorf("%q is not a number", value)
}
