/* pb_tz.c — reads TZif v2+ zone files (transitions + POSIX footer rule) and answers local-time questions. */
#include "pb_tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (256 * 1024)
#define TZ_MAX_TIMES 100000
#define TZ_MAX_TYPES 256

/* A POSIX TZ rule date: Mm.w.d (month, week 1..5 with 5 = last, weekday 0 = Sunday), or Jn / n. */
typedef struct tz_rule_date {
	char kind;               /* 'M', 'J' (1..365, no Feb 29) or 'D' (0..365) */
	int month, week, wday, yday;
	int time_s;              /* local wall time of the change, may be negative or > 24 h */
} tz_rule_date;

typedef struct tz_rule {
	bool present;
	int std_off;             /* UTC offset (seconds east) of standard time */
	bool has_dst;
	int dst_off;
	tz_rule_date start, end;
} tz_rule;

struct pb_tz {
	char name[128];
	int64_t *times;          /* transition instants, ascending */
	int *offs;               /* offset in force from times[i] on */
	size_t ntimes;
	int first_off;           /* before the first transition */
	tz_rule rule;            /* after the last transition */
};

/* ---- calendar (Howard Hinnant's days_from_civil / civil_from_days) ---- */

int64_t pb_civil_days(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void pb_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = m;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap_year(y) ? 29 : d[m - 1];
}

/* ---- the POSIX TZ footer ---- */

static const char *parse_name(const char *p)
{
	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		return *p == '>' ? p + 1 : NULL;
	}
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return NULL;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p;
}

/* [+-]hh[:mm[:ss]] → seconds; hours up to 167 (RFC 8536 allows it for times). */
static const char *parse_hms(const char *p, int *out)
{
	int sign = 1, part[3] = { 0, 0, 0 }, n = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	while (n < 3) {
		int v = 0, digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 3) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (!digits)
			return NULL;
		part[n++] = v;
		if (*p != ':')
			break;
		p++;
	}
	if (part[0] > 167 || part[1] > 59 || part[2] > 59)
		return NULL;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return p;
}

static const char *parse_int(const char *p, int lo, int hi, int *out)
{
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

static const char *parse_rule_date(const char *p, tz_rule_date *d)
{
	d->time_s = 7200;  /* POSIX default: 02:00 */
	if (*p == 'M') {
		d->kind = 'M';
		p = parse_int(p + 1, 1, 12, &d->month);
		if (p && *p++ == '.')
			p = parse_int(p, 1, 5, &d->week);
		else
			p = NULL;
		if (p && *p++ == '.')
			p = parse_int(p, 0, 6, &d->wday);
		else
			p = NULL;
	} else if (*p == 'J') {
		d->kind = 'J';
		p = parse_int(p + 1, 1, 365, &d->yday);
	} else {
		d->kind = 'D';
		p = parse_int(p, 0, 365, &d->yday);
	}
	if (p && *p == '/')
		p = parse_hms(p + 1, &d->time_s);
	return p;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3": std name, offset (west positive), [dst name [offset], start, end]. */
static bool parse_rule(const char *s, tz_rule *r)
{
	const char *p = parse_name(s);
	int off;

	memset(r, 0, sizeof(*r));
	if (!p || !(p = parse_hms(p, &off)))
		return false;
	r->std_off = -off;
	r->present = true;
	if (!*p)
		return true;
	if (!(p = parse_name(p)))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = parse_hms(p, &off)))
			return false;
		r->dst_off = -off;
	}
	if (*p++ != ',' || !(p = parse_rule_date(p, &r->start)) || *p++ != ',' || !(p = parse_rule_date(p, &r->end)))
		return false;
	return *p == '\0';
}

/* Local midnight (as days) of the rule date in year y. */
static int64_t rule_day(int y, const tz_rule_date *d)
{
	int64_t first, day;
	int wday1, md;

	if (d->kind == 'J')
		return pb_civil_days(y, 1, 1) + d->yday - 1 + (leap_year(y) && d->yday >= 60);
	if (d->kind == 'D')
		return pb_civil_days(y, 1, 1) + d->yday;
	first = pb_civil_days(y, d->month, 1);
	wday1 = (int)((first % 7 + 11) % 7);  /* 1970-01-01 was a Thursday (4) */
	md = 1 + (d->wday - wday1 + 7) % 7 + (d->week - 1) * 7;
	while (md > month_days(y, d->month))
		md -= 7;
	day = first + md - 1;
	return day;
}

static int rule_offset(const tz_rule *r, int64_t t)
{
	int y, m, dd;
	int64_t start, end;

	if (!r->has_dst)
		return r->std_off;
	pb_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &dd);
	/* start is given in standard time, end in daylight time */
	start = rule_day(y, &r->start) * 86400 + r->start.time_s - r->std_off;
	end = rule_day(y, &r->end) * 86400 + r->end.time_s - r->dst_off;
	if (start < end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	return t >= end && t < start ? r->std_off : r->dst_off;  /* southern hemisphere */
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

static bool read_counts(const unsigned char *p, size_t left, tzif_counts *c, int *version)
{
	if (left < 44 || memcmp(p, "TZif", 4))
		return false;
	*version = p[4] ? p[4] - '0' : 1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	return c->time <= TZ_MAX_TIMES && c->type >= 1 && c->type <= TZ_MAX_TYPES && c->chars <= 4096 &&
	       c->leap <= 1000 && (c->isut == 0 || c->isut == c->type) && (c->isstd == 0 || c->isstd == c->type);
}

static size_t block_len(const tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* Fills tz from the 64-bit block at p (after its header). */
static bool read_block(pb_tz *tz, const unsigned char *p, const tzif_counts *c)
{
	const unsigned char *idx = p + c->time * 8, *types = idx + c->time;
	int offs[TZ_MAX_TYPES];
	int first_std = -1;

	for (uint32_t i = 0; i < c->type; i++) {
		int32_t off = (int32_t)be32(types + i * 6);

		if (off < -26 * 3600 || off > 26 * 3600 || types[i * 6 + 5] >= c->chars + (c->chars == 0))
			return false;
		offs[i] = off;
		if (first_std < 0 && !types[i * 6 + 4])
			first_std = (int)i;
	}
	tz->first_off = offs[first_std >= 0 ? first_std : 0];
	tz->ntimes = c->time;
	tz->times = c->time ? calloc(c->time, sizeof(*tz->times)) : NULL;
	tz->offs = c->time ? calloc(c->time, sizeof(*tz->offs)) : NULL;
	if (c->time && (!tz->times || !tz->offs))
		return false;
	for (uint32_t i = 0; i < c->time; i++) {
		tz->times[i] = be64(p + i * 8);
		if (idx[i] >= c->type || (i && tz->times[i] <= tz->times[i - 1]))
			return false;
		tz->offs[i] = offs[idx[i]];
	}
	return true;
}

static bool parse_tzif(pb_tz *tz, const unsigned char *buf, size_t len)
{
	tzif_counts c1, c2;
	size_t skip, body;
	const unsigned char *p, *nl;
	char footer[128];
	int v1, v2;

	if (!read_counts(buf, len, &c1, &v1))
		return false;
	skip = 44 + block_len(&c1, 4);
	if (v1 < 2 || skip > len || !read_counts(buf + skip, len - skip, &c2, &v2))
		return false;
	p = buf + skip + 44;
	body = block_len(&c2, 8);
	if (body > len - skip - 44 || !read_block(tz, p, &c2))
		return false;
	p += body;
	/* footer: "\n<POSIX TZ>\n" */
	if (p >= buf + len || *p != '\n')
		return false;
	nl = memchr(p + 1, '\n', (size_t)(buf + len - p - 1));
	if (!nl || (size_t)(nl - p - 1) >= sizeof(footer))
		return false;
	memcpy(footer, p + 1, (size_t)(nl - p - 1));
	footer[nl - p - 1] = 0;
	return !footer[0] || parse_rule(footer, &tz->rule);
}

static bool name_ok(const char *name)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-";

	return name[0] && name[0] != '/' && strlen(name) < 100 && !strstr(name, "..") && strspn(name, ok) == strlen(name);
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(TZ_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, TZ_FILE_MAX + 1, f);
	fclose(f);
	if (n > TZ_FILE_MAX) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*len = n;
	return 0;
}

void pb_tz_free(pb_tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->offs);
	free(tz);
}

int pb_tz_load(const char *name, pb_tz **out, pb_err *err)
{
	const char *dir = getenv("TZDIR");
	unsigned char *buf = NULL;
	char path[512];
	size_t len = 0;
	pb_tz *tz;
	int r;

	*out = NULL;
	if (!name || !name_ok(name))
		return pb_err_set(err, PB_E_INVALID, "time zone '%s': not an IANA zone name", name ? name : "");
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		return pb_err_set(err, -ENOMEM, "out of memory");
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
	r = read_file(path, &buf, &len);
	if (r && !strcmp(name, "UTC")) {
		tz->rule.present = true;   /* UTC needs no file */
		*out = tz;
		return 0;
	}
	if (r) {
		pb_tz_free(tz);
		return pb_err_set(err, PB_E_INVALID, "time zone '%s': %s", name, strerror(-r));
	}
	if (!parse_tzif(tz, buf, len)) {
		free(buf);
		pb_tz_free(tz);
		return pb_err_set(err, PB_E_INVALID, "time zone '%s': %s is not a valid TZif file", name, path);
	}
	free(buf);
	*out = tz;
	return 0;
}

int pb_tz_parse(const char *name, const void *data, size_t len, pb_tz **out, pb_err *err)
{
	pb_tz *tz;

	*out = NULL;
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		return pb_err_set(err, -ENOMEM, "out of memory");
	snprintf(tz->name, sizeof(tz->name), "%s", name ? name : "");
	if (len > TZ_FILE_MAX || !parse_tzif(tz, data, len)) {
		pb_tz_free(tz);
		return pb_err_set(err, PB_E_INVALID, "time zone '%s': not a valid TZif file", name ? name : "");
	}
	*out = tz;
	return 0;
}

const char *pb_tz_name(const pb_tz *tz)
{
	return tz->name;
}

int pb_tz_offset(const pb_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntimes;

	if (!tz->ntimes || t < tz->times[0])
		return tz->ntimes || !tz->rule.present ? tz->first_off : rule_offset(&tz->rule, t);
	if (t >= tz->times[tz->ntimes - 1] && tz->rule.present)
		return rule_offset(&tz->rule, t);
	while (hi - lo > 1) {   /* the last transition at or before t */
		size_t mid = lo + (hi - lo) / 2;

		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offs[lo];
}

void pb_tz_local(const pb_tz *tz, int64_t t, pb_civil *out)
{
	int off = pb_tz_offset(tz, t);
	int64_t local = t + off, days = floor_div(local, 86400), sec = local - days * 86400;

	pb_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(sec / 3600);
	out->min = (int)(sec % 3600 / 60);
	out->sec = (int)(sec % 60);
	out->utc_offset_s = off;
}

int64_t pb_tz_day_of(const pb_tz *tz, int64_t t)
{
	return floor_div(t + pb_tz_offset(tz, t), 86400);
}

int64_t pb_tz_at(const pb_tz *tz, int64_t day, int hour, int min)
{
	int64_t local = day * 86400 + hour * 3600 + min * 60;
	int before = pb_tz_offset(tz, local - 2 * 86400), after = pb_tz_offset(tz, local + 2 * 86400);
	int64_t lo, hi;

	/* the earlier occurrence wins in an overlap: try the larger offset first */
	if (before < after) {
		int x = before;

		before = after;
		after = x;
	}
	if (pb_tz_offset(tz, local - before) == before)
		return local - before;
	if (pb_tz_offset(tz, local - after) == after)
		return local - after;
	/* a gap: the first instant after it, found between the two readings */
	lo = local - before;
	hi = local - after;
	if (lo > hi) {
		int64_t x = lo;

		lo = hi;
		hi = x;
	}
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (pb_tz_offset(tz, mid) == pb_tz_offset(tz, hi))
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

int64_t pb_tz_day_start(const pb_tz *tz, int64_t day)
{
	return pb_tz_at(tz, day, 0, 0);
}
