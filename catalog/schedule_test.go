package catalog

import (
	"strings"
	"testing"
)

// TestSchedules: the schedules Kubernetes accepts for a CronJob pass,
// those it refuses are refused with the reason and the field at fault
// (values out of range used to pass: "61 25 * * *"). The check is
// Kubernetes' own: robfig/cron's ParseStandard, and no TZ.
func TestSchedules(t *testing.T) {
	for _, s := range []string{
		"0 3 * * *", "*/15 * * * *", "0 0-6,22-23 * * *", "30 2 1-31/2 * ?", "0 9 * jan-DEC mon-fri",
		"5/10 * * * *", "0 0 29 2 *", "59 23 31 12 6", "0 12 * * SUN", "  0   3 * * *  ", "@daily", "@annually",
		// Kubernetes accepts these too, so pave does.
		"@every 1h30m", "+5 * * * *", "*/61 * * * *",
	} {
		if err := checkSchedule(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"61 25 * * *":                  "minute: end of range (61) above maximum (59)",
		"0 24 * * *":                   "hour: end of range (24) above maximum (23)",
		"0 0 0 * *":                    "day of month: beginning of range (0) below minimum (1)",
		"0 0 32 * *":                   "day of month: end of range (32) above maximum (31)",
		"0 0 * 0 *":                    "month: beginning of range (0) below minimum (1)",
		"0 0 * * 7":                    "day of week: end of range (7) above maximum (6)",
		"0 0 * * mon-sat7":             `day of week: "sat7" is not a number or a weekday name (sun-sat)`,
		"0 0 * foo *":                  `month: "foo" is not a number or a month name (jan-dec)`,
		"mon 0 * * *":                  `minute: "mon" is not a number`,
		"foo bar baz qux quux":         `minute: "foo" is not a number`,
		"10-5 * * * *":                 "minute: beginning of range (10) beyond end of range (5): 10-5",
		"*/0 * * * *":                  "minute: step of range should be a positive number: */0",
		"*/x * * * *":                  `minute: "x" is not a number`,
		"1/2/3 * * * *":                "minute: too many slashes: 1/2/3",
		"1-2-3 * * * *":                "minute: too many hyphens: 1-2-3",
		"* * 1 * -5":                   `day of week: "" is not a number or a weekday name (sun-sat)`,
		"* * * *":                      "expected exactly 5 fields, found 4",
		"0 0 0 * * *":                  "expected exactly 5 fields, found 6",
		"  ":                           "expected exactly 5 fields, found 0",
		"@every 5x":                    "failed to parse duration @every 5x",
		"@reboot":                      "unrecognized descriptor: @reboot",
		"CRON_TZ=UTC 0 3 * * *":        "a time zone cannot be set in the schedule",
		"TZ=Europe/Paris 0 3 * * *":    "a time zone cannot be set in the schedule",
		"TZ=UTC":                       "a time zone cannot be set in the schedule",
		"99999999999999999999 * * * *": `minute: "99999999999999999999" is too large`,
	} {
		err := checkSchedule(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", s, err, want)
		}
	}
}
