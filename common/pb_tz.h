/* pb_tz.h — IANA time zones from the system's TZif files: local dates, day boundaries, local times across DST. */
#ifndef PB_TZ_H
#define PB_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "pb_err.h"

/*
 * The daily report covers a local calendar day (23, 24 or 25 hours across
 * DST) and is due at a local time, so promobot needs the zone's rules, not
 * the process's TZ: one pb_tz per configured zone, read once from
 * $TZDIR/<name> or /usr/share/zoneinfo/<name> (TZif v2+, 64-bit data; the
 * footer's POSIX TZ rule covers instants after the last transition). "UTC"
 * works without a file. Immutable after load: share it between threads.
 *
 * Days are counted as civil day numbers (days since 1970-01-01 in the
 * proleptic Gregorian calendar), so "the next day" is n + 1 whatever DST does.
 */
typedef struct pb_tz pb_tz;

typedef struct pb_civil {
	int year, month, day;      /* 2026, 1..12, 1..31 */
	int hour, min, sec;
	int utc_offset_s;          /* at that instant, e.g. 3600 for CET, 7200 for CEST */
} pb_civil;

/* Loads a zone by IANA name ("Europe/Berlin"). PB_E_INVALID (with text) for an unknown or unreadable zone. */
int pb_tz_load(const char *name, pb_tz **out, pb_err *err);
/* The same from a TZif file's bytes already in memory (name only labels the zone). */
int pb_tz_parse(const char *name, const void *data, size_t len, pb_tz **out, pb_err *err);
void pb_tz_free(pb_tz *tz);               /* NULL-safe */
const char *pb_tz_name(const pb_tz *tz);

/* UTC offset in seconds at instant t (epoch s). */
int pb_tz_offset(const pb_tz *tz, int64_t t);
/* Local civil time of instant t. */
void pb_tz_local(const pb_tz *tz, int64_t t, pb_civil *out);

/* Civil day number <-> date (pure calendar arithmetic, no zone). */
int64_t pb_civil_days(int year, int month, int day);
void pb_civil_from_days(int64_t days, int *year, int *month, int *day);

/* The local civil day number that instant t falls on. */
int64_t pb_tz_day_of(const pb_tz *tz, int64_t t);
/*
 * The first instant (epoch s) of local day `day` (its 00:00, or the first
 * instant after a gap if midnight does not exist). Day `day` is
 * [pb_tz_day_start(day), pb_tz_day_start(day + 1)).
 */
int64_t pb_tz_day_start(const pb_tz *tz, int64_t day);
/*
 * The instant of local time hour:min on day `day`: inside a DST gap the
 * first instant after the gap; inside an overlap the earlier occurrence.
 * So a 09:00 report is due exactly once per local day.
 */
int64_t pb_tz_at(const pb_tz *tz, int64_t day, int hour, int min);

#endif
