/* test_tz.c — IANA zones from TZif: DST days of 23/25 hours, gaps, overlaps, the footer rule, corrupt files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb_tz.h"

static pb_tz *load(const char *name)
{
	pb_tz *tz = NULL;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_tz_load(name, &tz, &e), 0, "%s", pb_err_text(&e));
	return tz;
}

/* Epoch of a UTC civil time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return pb_civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

Test(tz, civil_day_numbers_round_trip)
{
	int y, m, d;

	cr_expect_eq(pb_civil_days(1970, 1, 1), 0);
	cr_expect_eq(pb_civil_days(2000, 3, 1), 11017);
	cr_expect_eq(pb_civil_days(1969, 12, 31), -1);
	for (int64_t n = -800000; n < 800000; n += 997) {
		pb_civil_from_days(n, &y, &m, &d);
		cr_assert_eq(pb_civil_days(y, m, d), n);
	}
}

static void expect_day_hours(pb_tz *tz, int y, int m, int d, int hours)
{
	int64_t day = pb_civil_days(y, m, d);

	cr_expect_eq(pb_tz_day_start(tz, day + 1) - pb_tz_day_start(tz, day), hours * 3600, "%s %04d-%02d-%02d: %d h",
		     pb_tz_name(tz), y, m, d, hours);
}

Test(tz, berlin_2026_days_of_23_and_25_hours)
{
	pb_tz *tz = load("Europe/Berlin");
	pb_civil c;

	expect_day_hours(tz, 2026, 3, 28, 24);
	expect_day_hours(tz, 2026, 3, 29, 23);
	expect_day_hours(tz, 2026, 3, 30, 24);
	expect_day_hours(tz, 2026, 10, 25, 25);
	cr_expect_eq(pb_tz_day_start(tz, pb_civil_days(2026, 3, 29)), utc(2026, 3, 28, 23, 0));
	cr_expect_eq(pb_tz_day_start(tz, pb_civil_days(2026, 10, 26)), utc(2026, 10, 25, 23, 0));
	cr_expect_eq(pb_tz_at(tz, pb_civil_days(2026, 3, 29), 9, 0), utc(2026, 3, 29, 7, 0), "09:00 CEST");
	cr_expect_eq(pb_tz_at(tz, pb_civil_days(2026, 3, 28), 9, 0), utc(2026, 3, 28, 8, 0), "09:00 CET");
	/* 02:30 does not exist on 29 March: the first instant after the gap, 03:00 CEST */
	cr_expect_eq(pb_tz_at(tz, pb_civil_days(2026, 3, 29), 2, 30), utc(2026, 3, 29, 1, 0));
	/* 02:30 happens twice on 25 October: the earlier, CEST */
	cr_expect_eq(pb_tz_at(tz, pb_civil_days(2026, 10, 25), 2, 30), utc(2026, 10, 25, 0, 30));
	pb_tz_local(tz, utc(2026, 10, 25, 1, 30), &c);
	cr_expect(c.hour == 2 && c.min == 30 && c.utc_offset_s == 3600, "the second 02:30 is CET");
	cr_expect_eq(pb_tz_day_of(tz, utc(2026, 3, 28, 23, 0)), pb_civil_days(2026, 3, 29));
	cr_expect_eq(pb_tz_day_of(tz, utc(2026, 3, 28, 22, 59)), pb_civil_days(2026, 3, 28));
	pb_tz_free(tz);
}

Test(tz, new_york_2026_changes_and_one_report_time_per_day)
{
	pb_tz *tz = load("America/New_York");
	int64_t prev = 0;

	expect_day_hours(tz, 2026, 3, 8, 23);
	expect_day_hours(tz, 2026, 11, 1, 25);
	expect_day_hours(tz, 2026, 7, 4, 24);
	cr_expect_eq(pb_tz_offset(tz, utc(2026, 3, 8, 6, 59)), -5 * 3600);
	cr_expect_eq(pb_tz_offset(tz, utc(2026, 3, 8, 7, 0)), -4 * 3600);
	cr_expect_eq(pb_tz_offset(tz, utc(2026, 11, 1, 5, 59)), -4 * 3600);
	cr_expect_eq(pb_tz_offset(tz, utc(2026, 11, 1, 6, 0)), -5 * 3600);
	for (int64_t d = pb_civil_days(2026, 1, 1); d < pb_civil_days(2027, 1, 1); d++) {
		int64_t at = pb_tz_at(tz, d, 9, 0);
		pb_civil c;

		pb_tz_local(tz, at, &c);
		cr_assert(c.hour == 9 && c.min == 0, "09:00 local every day");
		cr_assert_eq(pb_tz_day_of(tz, at), d);
		cr_assert(!prev || at - prev == 86400 || at - prev == 23 * 3600 || at - prev == 25 * 3600);
		prev = at;
	}
	pb_tz_free(tz);
}

Test(tz, the_footer_rule_covers_the_far_future)
{
	pb_tz *tz = load("Europe/Berlin");

	expect_day_hours(tz, 2040, 3, 25, 23);   /* last Sunday of March 2040 */
	expect_day_hours(tz, 2040, 10, 28, 25);
	expect_day_hours(tz, 2100, 3, 28, 23);
	cr_expect_eq(pb_tz_offset(tz, utc(2040, 7, 1, 12, 0)), 7200);
	cr_expect_eq(pb_tz_offset(tz, utc(1975, 7, 1, 12, 0)), 3600, "West Germany had no DST in 1975");
	pb_tz_free(tz);
}

Test(tz, utc_and_bad_names)
{
	pb_tz *tz = load("UTC");
	pb_err e;

	cr_expect_eq(pb_tz_offset(tz, utc(2026, 6, 1, 0, 0)), 0);
	expect_day_hours(tz, 2026, 3, 29, 24);
	pb_tz_free(tz);
	tz = NULL;
	pb_err_init(&e);
	cr_expect_eq(pb_tz_load("Mars/Olympus_Mons", &tz, &e), PB_E_INVALID);
	cr_expect_eq(pb_tz_load("../../etc/passwd", &tz, &e), PB_E_INVALID);
	cr_expect_eq(pb_tz_load("/etc/localtime", &tz, &e), PB_E_INVALID);
	cr_expect_eq(pb_tz_load("Europe/Berlin;rm", &tz, &e), PB_E_INVALID);
	cr_expect_null(tz);
}

/* Writes `len` bytes of `data` as zone "Bad/Zone" under a temporary TZDIR. */
static void write_zone(const char *dir, const void *data, size_t len)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/Bad", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/Bad/Zone", dir);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(data, 1, len, f);
	fclose(f);
}

Test(tz, corrupt_or_truncated_files_are_refused)
{
	char dir[] = "/tmp/promobot-tz-XXXXXX", path[300];
	unsigned char buf[8192];
	FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
	size_t n;
	pb_tz *tz = NULL;
	pb_err e;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_assert_not_null(mkdtemp(dir));
	setenv("TZDIR", dir, 1);
	pb_err_init(&e);
	for (size_t cut = 0; cut < n; cut += n / 23 + 1) {
		write_zone(dir, buf, cut);
		cr_expect_eq(pb_tz_load("Bad/Zone", &tz, &e), PB_E_INVALID, "cut at %zu of %zu", cut, n);
	}
	buf[35] = 0xff;  /* timecnt of the v1 header: absurd */
	write_zone(dir, buf, n);
	cr_expect_eq(pb_tz_load("Bad/Zone", &tz, &e), PB_E_INVALID);
	cr_expect(strstr(pb_err_text(&e), "not a valid TZif"), "%s", pb_err_text(&e));
	write_zone(dir, "not a zone file at all", 22);
	cr_expect_eq(pb_tz_load("Bad/Zone", &tz, &e), PB_E_INVALID);
	unsetenv("TZDIR");
	snprintf(path, sizeof(path), "%s/Bad/Zone", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Bad", dir);
	rmdir(path);
	rmdir(dir);
}
