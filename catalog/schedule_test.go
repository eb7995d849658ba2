package catalog

import (
	"strings"
	"testing"
)

// TestSchedules: the schedules Kubernetes accepts for a CronJob pass,
// those it refuses are refused with the reason (values out of range used
// to pass: "61 25 * * *").
func TestSchedules(t *testing.T) {
	for _, s := range []string{
		"0 3 * * *", "*/15 * * * *", "0 0-6,22-23 * * *", "30 2 1-31/2 * ?", "0 9 * jan-DEC mon-fri",
		"5/10 * * * *", "0 0 29 2 *", "59 23 31 12 6", "0 12 * * SUN", "  0   3 * * *  ", "@daily", "@annually",
	} {
		if err := checkSchedule(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"61 25 * * *":                  "minute 61 is outside 0-59",
		"0 24 * * *":                   "hour 24 is outside 0-23",
		"0 0 0 * *":                    "day of month 0 is outside 1-31",
		"0 0 32 * *":                   "day of month 32 is outside 1-31",
		"0 0 * 0 *":                    "month 0 is outside 1-12",
		"0 0 * * 7":                    "day of week 7 is outside 0-6",
		"0 0 * * mon-sat7":             `day of week "sat7" is not a number`,
		"0 0 * foo *":                  `month "foo" is not a number`,
		"mon 0 * * *":                  `minute "mon" is not a number`,
		"10-5 * * * *":                 "minute range 10-5 runs backwards",
		"*/0 * * * *":                  `minute step "0" is not a positive number`,
		"*/x * * * *":                  `minute step "x" is not a positive number`,
		"1/2/3 * * * *":                `minute step "2/3" is not a positive number`,
		"1-2-3 * * * *":                `minute "2-3" is not a number`,
		"+5 * * * *":                   `minute "+5" is not a number`,
		",5 * * * *":                   `minute "" is not a number`,
		"* * * *":                      "4 fields, not 5",
		"0 0 0 * * *":                  "6 fields, not 5",
		"":                             "0 fields, not 5",
		"@every 5m":                    "unknown macro @every 5m",
		"@reboot":                      "unknown macro @reboot",
		"CRON_TZ=UTC 0 3 * * *":        "a time zone cannot be set in the schedule",
		"99999999999999999999 * * * *": `minute "99999999999999999999" is not a number`,
	} {
		err := checkSchedule(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", s, err, want)
		}
	}
}
