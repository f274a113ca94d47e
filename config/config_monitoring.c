/* config_monitoring.c — the `monitoring` section: global defaults and per-environment overrides. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"
#include "pb_str.h"

/* Neo4j's log line: "2026-03-29 01:59:59.123+0000 ERROR …"; group 1 is the level. */
#define DEFAULT_ENTRY_RE \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{4} +([A-Z]+)"

static const char *const default_critical[] = { "ERROR", "FATAL" };
static const char *const default_warning[] = { "WARN", "WARNING" };

static char **strv_dup(cfg_ctx *c, const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));

	if (!out) {
		c->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = cfg_strdup(c, v[i]);
	return out;
}

/* The built-in values, or a deep copy of base. */
static void monitoring_base(cfg_ctx *c, const pb_monitor_cfg *base, pb_monitor_cfg *m)
{
	if (base) {
		*m = *base;
		m->mention = base->mention ? cfg_strdup(c, base->mention) : NULL;
		m->timezone = cfg_strdup(c, base->timezone);
		m->log_entry_regex = cfg_strdup(c, base->log_entry_regex);
		m->log_critical = strv_dup(c, (const char *const *)base->log_critical, base->nlog_critical);
		m->log_warning = strv_dup(c, (const char *const *)base->log_warning, base->nlog_warning);
		return;
	}
	*m = (pb_monitor_cfg){ .interval_s = 60, .stats_every = 5, .fail_threshold = 2,
			       .success_threshold = 2, .remind_every_min = 30, .report_hour = 9,
			       .deadline_ms = 10000,
			       .raw_retention_days = 30, .min_coverage = 99.0 };
	m->timezone = cfg_strdup(c, "UTC");
	m->log_entry_regex = cfg_strdup(c, DEFAULT_ENTRY_RE);
	m->nlog_critical = 2;
	m->log_critical = strv_dup(c, default_critical, 2);
	m->nlog_warning = 2;
	m->log_warning = strv_dup(c, default_warning, 2);
}

/* "HH:MM", 24-hour clock. */
static void parse_report_time(cfg_ctx *c, const cJSON *o, const char *path, pb_monitor_cfg *m)
{
	char *t = NULL;
	long h, mi;

	if (!cfg_get_str(c, o, path, "report_time", false, NULL, &t) || !t)
		return;
	if (strlen(t) != 5 || t[2] != ':' || pb_parse_long((char[3]){ t[0], t[1], 0 }, 0, 23, &h) ||
	    pb_parse_long(t + 3, 0, 59, &mi))
		pb_problems_add(c->probs, "%s.report_time: expected HH:MM (24-hour), e.g. \"09:00\"", path);
	else {
		m->report_hour = (int)h;
		m->report_min = (int)mi;
	}
	free(t);
}

/* An IANA zone name that exists in the system's zone database (tzdata). */
static void check_timezone(cfg_ctx *c, const char *path, const char *tz)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-";
	const char *dir = getenv("TZDIR");
	char file[512];

	if (!tz[0] || tz[0] == '/' || strstr(tz, "..") || strspn(tz, ok) != strlen(tz)) {
		pb_problems_add(c->probs, "%s.timezone: \"%s\" is not an IANA zone name (e.g. Europe/Berlin)",
				path, tz);
		return;
	}
	snprintf(file, sizeof(file), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", tz);
	if (access(file, R_OK) != 0)
		pb_problems_add(c->probs, "%s.timezone: unknown zone \"%s\" (not in %s; is tzdata installed?)",
				path, tz, dir && dir[0] ? dir : "/usr/share/zoneinfo");
}

static void check_entry_regex(cfg_ctx *c, const char *path, const char *re)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED);

	if (rc != 0) {
		char msg[128];

		regerror(rc, &rx, msg, sizeof(msg));
		pb_problems_add(c->probs, "%s.log_entry_regex: invalid regular expression: %s", path, msg);
		return;
	}
	if (rx.re_nsub < 1)
		pb_problems_add(c->probs, "%s.log_entry_regex: needs a capture group (group 1 is the level)",
				path);
	regfree(&rx);
}

/* A present string replaces the inherited one. */
static bool override_str(cfg_ctx *c, const cJSON *o, const char *path, const char *key, char **field)
{
	char *v = NULL;

	if (!cfg_get_str(c, o, path, key, false, NULL, &v) || !v)
		return false;
	free(*field);
	*field = v;
	return true;
}

static void override_strv(cfg_ctx *c, const cJSON *o, const char *path, const char *key, char ***field,
			  size_t *n)
{
	char **v = NULL;
	size_t nv = 0;

	if (cfg_get_strv(c, o, path, key, false, &v, &nv) && v) {
		cfg_strv_free(*field, *n);
		*field = v;
		*n = nv;
	}
}

static void parse_numbers(cfg_ctx *c, const cJSON *o, const char *p, pb_monitor_cfg *m)
{
	bool deadline_set;

	cfg_get_int(c, o, p, "interval_s", false, m->interval_s, 1, 86400, &m->interval_s);
	deadline_set = cfg_get_int(c, o, p, "deadline_ms", false, m->deadline_ms, 100, 3600 * 1000,
				   &m->deadline_ms);
	if (!deadline_set && !m->deadline_ms)
		m->deadline_ms = m->interval_s * 500 < 10000 ? m->interval_s * 500 : 10000;
	if (m->deadline_ms >= m->interval_s * 1000)
		pb_problems_add(c->probs, "%s.deadline_ms: must be shorter than interval_s (%d s)", p,
				m->interval_s);
	cfg_get_int(c, o, p, "stats_every", false, m->stats_every, 1, 10000, &m->stats_every);
	cfg_get_int(c, o, p, "fail_threshold", false, m->fail_threshold, 1, 100, &m->fail_threshold);
	cfg_get_int(c, o, p, "success_threshold", false, m->success_threshold, 1, 100,
		    &m->success_threshold);
	cfg_get_int(c, o, p, "remind_every_min", false, m->remind_every_min, 0, 10080,
		    &m->remind_every_min);
	cfg_get_int(c, o, p, "raw_retention_days", false, m->raw_retention_days, 1, 3650,
		    &m->raw_retention_days);
	cfg_get_double(c, o, p, "min_coverage", m->min_coverage, 0, 100, &m->min_coverage);
}

void cfg_parse_monitoring(cfg_ctx *c, const cJSON *obj, const char *path, const pb_monitor_cfg *base,
			  pb_monitor_cfg *out)
{
	static const char *const keys[] = { "interval_s", "deadline_ms", "stats_every", "fail_threshold",
					    "success_threshold", "remind_every_min", "mention",
					    "report_time", "timezone", "raw_retention_days",
					    "min_coverage", "log_entry_regex", "log_critical",
					    "log_warning", NULL };
	const cJSON *o = cfg_get_obj(c, obj, path, "monitoring", false);
	char p[CFG_PATH_MAX];
	bool tz_set, re_set;

	cfg_path_key(p, sizeof(p), path, "monitoring");
	monitoring_base(c, base, out);
	if (!o || c->oom)
		return;
	cfg_check_keys(c, o, p, keys);
	/* A new interval without its own deadline recomputes the deadline from it. */
	if (!cJSON_GetObjectItemCaseSensitive(o, "deadline_ms") &&
	    cJSON_GetObjectItemCaseSensitive(o, "interval_s"))
		out->deadline_ms = 0;
	parse_numbers(c, o, p, out);
	override_str(c, o, p, "mention", &out->mention);
	tz_set = override_str(c, o, p, "timezone", &out->timezone);
	re_set = override_str(c, o, p, "log_entry_regex", &out->log_entry_regex);
	override_strv(c, o, p, "log_critical", &out->log_critical, &out->nlog_critical);
	override_strv(c, o, p, "log_warning", &out->log_warning, &out->nlog_warning);
	parse_report_time(c, o, p, out);
	if (out->mention && (strlen(out->mention) > 80 || strpbrk(out->mention, "\n\r\t")))
		pb_problems_add(c->probs, "%s.mention: at most 80 characters on one line", p);
	/* Inherited values were checked where they were written. */
	if (tz_set)
		check_timezone(c, p, out->timezone);
	if (re_set)
		check_entry_regex(c, p, out->log_entry_regex);
}

void cfg_monitoring_free(pb_monitor_cfg *m)
{
	free(m->mention);
	free(m->timezone);
	free(m->log_entry_regex);
	cfg_strv_free(m->log_critical, m->nlog_critical);
	cfg_strv_free(m->log_warning, m->nlog_warning);
	memset(m, 0, sizeof(*m));
}
