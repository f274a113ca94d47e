/* pb_metrics.c — Prometheus registry: families under one mutex, text exposition, /proc process metrics. */
#include "pb_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct series {
	char *lv[PB_METRICS_MAX_LABELS];
	double value;       /* counter / gauge */
	double sum;         /* histogram */
	uint64_t count;     /* histogram: every observation, i.e. the +Inf bucket */
	uint64_t *buckets;  /* histogram: observations per finite bound, not cumulative */
} series;

struct pb_metric {
	pb_metrics *reg;
	pb_metric *next;
	char *name;
	char *help;
	pb_metric_type type;
	char *labels[PB_METRICS_MAX_LABELS];
	size_t nlabels;
	double *bounds;
	size_t nbounds;
	series *s;
	size_t n, cap;
};

struct pb_metrics {
	pthread_mutex_t lock;
	unsigned flags;
	pb_metric *head, *tail;
};

const double pb_metrics_latency_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const size_t pb_metrics_latency_nbuckets =
	sizeof(pb_metrics_latency_buckets) / sizeof(pb_metrics_latency_buckets[0]);

/* Names rendered by the process collector; user families may not take them. */
static const char *const process_names[] = {
	"process_cpu_seconds_total", "process_open_fds", "process_max_fds",
	"process_virtual_memory_bytes", "process_resident_memory_bytes", "process_start_time_seconds",
};

/* ---- registry ---- */

int pb_metrics_new(unsigned flags, pb_metrics **out)
{
	pb_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->flags = flags;
	*out = m;
	return 0;
}

static void series_deinit(series *s)
{
	for (size_t i = 0; i < PB_METRICS_MAX_LABELS; i++)
		free(s->lv[i]);
	free(s->buckets);
}

static void family_free(pb_metric *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		series_deinit(&f->s[i]);
	free(f->s);
	for (size_t i = 0; i < PB_METRICS_MAX_LABELS; i++)
		free(f->labels[i]);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f);
}

void pb_metrics_free(pb_metrics *m)
{
	if (!m)
		return;
	for (pb_metric *f = m->head, *next; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- validation ---- */

static bool name_valid(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* Does `name` collide with anything family f renders (its name or a histogram's series names)? */
static bool name_taken_by(const pb_metric *f, const char *name)
{
	static const char *const hsuffix[] = { "_bucket", "_sum", "_count" };
	size_t n = strlen(f->name);

	if (!strcmp(f->name, name))
		return true;
	if (f->type != PB_METRIC_HISTOGRAM || strncmp(name, f->name, n))
		return false;
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(name + n, hsuffix[i]))
			return true;
	return false;
}

static bool name_free(pb_metrics *m, const pb_metric_desc *d)
{
	pb_metric probe = { .name = (char *)d->name, .type = d->type };

	for (pb_metric *f = m->head; f; f = f->next)
		if (name_taken_by(f, d->name) || name_taken_by(&probe, f->name))
			return false;
	if (m->flags & PB_METRICS_PROCESS)
		for (size_t i = 0; i < sizeof(process_names) / sizeof(process_names[0]); i++)
			if (name_taken_by(&probe, process_names[i]))
				return false;
	return true;
}

static int desc_check(pb_metrics *m, const pb_metric_desc *d, size_t *nlabels, pb_err *err)
{
	size_t n = 0;

	if (!name_valid(d->name, true))
		return pb_err_set(err, PB_E_INVALID, "metric name \"%s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*",
				  d->name ? d->name : "(null)");
	if (d->type != PB_METRIC_COUNTER && d->type != PB_METRIC_GAUGE && d->type != PB_METRIC_HISTOGRAM)
		return pb_err_set(err, PB_E_INVALID, "metric %s: unknown type", d->name);
	/* The Prometheus naming convention promtool lints for: only counters end in _total. */
	if ((d->type == PB_METRIC_COUNTER) != ends_with(d->name, "_total"))
		return pb_err_set(err, PB_E_INVALID, "metric %s: counter names end in _total, others do not",
				  d->name);
	if (!d->help || !pb_utf8_valid(d->help, strlen(d->help)))
		return pb_err_set(err, PB_E_INVALID, "metric %s: help text missing or not UTF-8", d->name);
	for (size_t i = 0; i < PB_METRICS_MAX_LABELS; i++) {
		const char *l = d->labels[i];

		if (!l)
			continue;
		if (i != n)
			return pb_err_set(err, PB_E_INVALID, "metric %s: label slots must be filled in order",
					  d->name);
		if (!name_valid(l, false) || !strncmp(l, "__", 2) ||
		    (d->type == PB_METRIC_HISTOGRAM && !strcmp(l, "le")))
			return pb_err_set(err, PB_E_INVALID, "metric %s: bad label name \"%s\"", d->name, l);
		for (size_t k = 0; k < n; k++)
			if (!strcmp(d->labels[k], l))
				return pb_err_set(err, PB_E_INVALID, "metric %s: label \"%s\" twice", d->name, l);
		n++;
	}
	if (d->type == PB_METRIC_HISTOGRAM) {
		if (!d->buckets || !d->nbuckets || d->nbuckets > PB_METRICS_MAX_BUCKETS)
			return pb_err_set(err, PB_E_INVALID, "histogram %s: 1..%d buckets", d->name,
					  PB_METRICS_MAX_BUCKETS);
		for (size_t i = 0; i < d->nbuckets; i++)
			if (!isfinite(d->buckets[i]) || (i && d->buckets[i] <= d->buckets[i - 1]))
				return pb_err_set(err, PB_E_INVALID,
						  "histogram %s: bounds must be finite and increasing", d->name);
	}
	if (!name_free(m, d))
		return pb_err_set(err, PB_E_INVALID, "metric %s: name already registered", d->name);
	*nlabels = n;
	return 0;
}

/* ---- series ---- */

static int series_init(const pb_metric *f, series *s, const char *const *lv)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < f->nlabels; i++)
		if (!(s->lv[i] = strdup(lv[i])))
			goto oom;
	if (f->type == PB_METRIC_HISTOGRAM && !(s->buckets = calloc(f->nbounds, sizeof(*s->buckets))))
		goto oom;
	return 0;
oom:
	series_deinit(s);
	return -ENOMEM;
}

static bool lv_valid(const pb_metric *f, const char *const *lv)
{
	if (f->nlabels && !lv)
		return false;
	for (size_t i = 0; i < f->nlabels; i++)
		if (!lv[i] || !pb_utf8_valid(lv[i], strlen(lv[i])))
			return false;
	return true;
}

static series *series_find(pb_metric *f, const char *const *lv)
{
	for (size_t i = 0; i < f->n; i++) {
		size_t k = 0;

		while (k < f->nlabels && !strcmp(f->s[i].lv[k], lv[k]))
			k++;
		if (k == f->nlabels)
			return &f->s[i];
	}
	return NULL;
}

/* Finds or creates the series for lv; call with the registry locked and lv validated. */
static int series_get(pb_metric *f, const char *const *lv, series **out)
{
	series *s;
	int rc;

	if ((*out = series_find(f, lv)))
		return 0;
	if (f->n >= PB_METRICS_MAX_SERIES)
		return PB_E_BUSY;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;

		s = realloc(f->s, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		f->s = s;
		f->cap = cap;
	}
	if ((rc = series_init(f, &f->s[f->n], lv)) < 0)
		return rc;
	*out = &f->s[f->n++];
	return 0;
}

/* ---- registration ---- */

static int family_new(const pb_metric_desc *d, size_t nlabels, pb_metric **out)
{
	pb_metric *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->type = d->type;
	f->nlabels = nlabels;
	if (!(f->name = strdup(d->name)) || !(f->help = strdup(d->help)))
		goto oom;
	for (size_t i = 0; i < nlabels; i++)
		if (!(f->labels[i] = strdup(d->labels[i])))
			goto oom;
	if (d->type == PB_METRIC_HISTOGRAM) {
		if (!(f->bounds = malloc(d->nbuckets * sizeof(*f->bounds))))
			goto oom;
		memcpy(f->bounds, d->buckets, d->nbuckets * sizeof(*f->bounds));
		f->nbounds = d->nbuckets;
	}
	*out = f;
	return 0;
oom:
	family_free(f);
	return -ENOMEM;
}

int pb_metrics_register(pb_metrics *m, const pb_metric_desc *d, pb_metric **out, pb_err *err)
{
	pb_metric *f = NULL;
	series *s;
	size_t nlabels = 0;
	int rc;

	if (out)
		*out = NULL;
	pthread_mutex_lock(&m->lock);
	if ((rc = desc_check(m, d, &nlabels, err)))
		goto out;
	if ((rc = family_new(d, nlabels, &f)) < 0)
		goto oom;
	/* A family without labels has exactly one series: render it as 0 from the start. */
	if (!nlabels && (rc = series_get(f, NULL, &s)) < 0)
		goto oom;
	f->reg = m;
	if (m->tail)
		m->tail->next = f;
	else
		m->head = f;
	m->tail = f;
	if (out)
		*out = f;
	goto out;
oom:
	family_free(f);
	pb_err_set(err, rc, "metric %s: out of memory", d->name);
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

pb_metric *pb_metrics_find(pb_metrics *m, const char *name)
{
	pb_metric *f;

	pthread_mutex_lock(&m->lock);
	for (f = m->head; f && strcmp(f->name, name); f = f->next)
		;
	pthread_mutex_unlock(&m->lock);
	return f;
}

/* ---- updates ---- */

typedef enum { OP_ADD, OP_SET, OP_OBSERVE, OP_TOUCH } update_op;

static bool op_allowed(const pb_metric *f, update_op op, double v)
{
	switch (op) {
	case OP_ADD:
		return (f->type == PB_METRIC_GAUGE && !isnan(v)) ||
		       (f->type == PB_METRIC_COUNTER && v >= 0);  /* false for NaN too */
	case OP_SET:
		return f->type == PB_METRIC_GAUGE;
	case OP_OBSERVE:
		return f->type == PB_METRIC_HISTOGRAM && !isnan(v);
	case OP_TOUCH:
		return true;
	}
	return false;
}

static void observe(const pb_metric *f, series *s, double v)
{
	for (size_t i = 0; i < f->nbounds; i++) {
		if (v <= f->bounds[i]) {
			s->buckets[i]++;
			break;
		}
	}
	s->count++;
	s->sum += v;
}

/* Applies n values of one op to one series under the registry's lock; !wait: PB_E_BUSY when it is taken. */
static int update_many(pb_metric *f, const char *const *lv, update_op op, const double *v, size_t n, bool wait)
{
	series *s;
	int rc;

	if (!f)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!op_allowed(f, op, v[i]))
			return PB_E_INVALID;
	if (!lv_valid(f, lv))
		return PB_E_INVALID;
	if (!wait && pthread_mutex_trylock(&f->reg->lock))
		return PB_E_BUSY;
	if (wait)
		pthread_mutex_lock(&f->reg->lock);
	rc = series_get(f, lv, &s);
	for (size_t i = 0; !rc && i < n; i++) {
		if (op == OP_ADD)
			s->value += v[i];
		else if (op == OP_SET)
			s->value = v[i];
		else if (op == OP_OBSERVE)
			observe(f, s, v[i]);
	}
	pthread_mutex_unlock(&f->reg->lock);
	return rc;
}

static int update(pb_metric *f, const char *const *lv, update_op op, double v)
{
	return update_many(f, lv, op, &v, 1, true);
}

int pb_metric_add(pb_metric *f, const char *const *lv, double v)
{
	return update(f, lv, OP_ADD, v);
}

int pb_metric_inc(pb_metric *f, const char *const *lv)
{
	return update(f, lv, OP_ADD, 1);
}

int pb_metric_set(pb_metric *f, const char *const *lv, double v)
{
	return update(f, lv, OP_SET, v);
}

int pb_metric_observe(pb_metric *f, const char *const *lv, double v)
{
	return update(f, lv, OP_OBSERVE, v);
}

int pb_metric_touch(pb_metric *f, const char *const *lv)
{
	return update(f, lv, OP_TOUCH, 0);
}

int pb_metric_observe_many_try(pb_metric *f, const char *const *lv, const double *v, size_t n)
{
	return n ? update_many(f, lv, OP_OBSERVE, v, n, false) : 0;
}

static double read_value(pb_metric *f, const char *const *lv, bool sum)
{
	series *s;
	double v = 0;

	if (!f || !lv_valid(f, lv))
		return 0;
	pthread_mutex_lock(&f->reg->lock);
	if ((s = series_find(f, lv))) {
		if (f->type != PB_METRIC_HISTOGRAM)
			v = sum ? 0 : s->value;
		else
			v = sum ? s->sum : (double)s->count;
	}
	pthread_mutex_unlock(&f->reg->lock);
	return v;
}

double pb_metric_value(pb_metric *f, const char *const *lv)
{
	return read_value(f, lv, false);
}

double pb_metric_sum(pb_metric *f, const char *const *lv)
{
	return read_value(f, lv, true);
}

/* ---- exposition ---- */

/* Shortest of %.15g / %.17g that reads back exactly; Prometheus spells infinities +Inf/-Inf. */
static void fmt_double(double v, char *out, size_t size)
{
	if (isnan(v)) {
		snprintf(out, size, "NaN");
	} else if (isinf(v)) {
		snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(out, size, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, size, "%.17g", v);
	}
}

/* HELP escapes backslash and newline; label values also escape the double quote. */
static void put_escaped(pb_buf *out, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			pb_buf_puts(out, "\\\\");
		else if (*p == '\n')
			pb_buf_puts(out, "\\n");
		else if (quote && *p == '"')
			pb_buf_puts(out, "\\\"");
		else
			pb_buf_append(out, p, 1);
	}
}

/* name{l1="v1",l2="v2",le="…"} value */
static void put_sample(pb_buf *out, const pb_metric *f, const char *suffix, const series *s,
		       const char *le, double v)
{
	char num[40];
	bool any = false;

	pb_buf_puts(out, f->name);
	pb_buf_puts(out, suffix);
	for (size_t i = 0; i < f->nlabels; i++) {
		pb_buf_puts(out, any ? "," : "{");
		pb_buf_puts(out, f->labels[i]);
		pb_buf_puts(out, "=\"");
		put_escaped(out, s->lv[i], true);
		pb_buf_puts(out, "\"");
		any = true;
	}
	if (le) {
		pb_buf_printf(out, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	fmt_double(v, num, sizeof(num));
	pb_buf_printf(out, "%s %s\n", any ? "}" : "", num);
}

static void put_header(pb_buf *out, const char *name, const char *help, const char *type)
{
	pb_buf_printf(out, "# HELP %s ", name);
	put_escaped(out, help, false);
	pb_buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

static void render_family(pb_buf *out, const pb_metric *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	put_header(out, f->name, f->help, types[f->type]);
	for (size_t i = 0; i < f->n; i++) {
		const series *s = &f->s[i];
		uint64_t cum = 0;
		char le[40];

		if (f->type != PB_METRIC_HISTOGRAM) {
			put_sample(out, f, "", s, NULL, s->value);
			continue;
		}
		for (size_t b = 0; b < f->nbounds; b++) {
			cum += s->buckets[b];
			fmt_double(f->bounds[b], le, sizeof(le));
			put_sample(out, f, "_bucket", s, le, (double)cum);
		}
		put_sample(out, f, "_bucket", s, "+Inf", (double)s->count);
		put_sample(out, f, "_sum", s, NULL, s->sum);
		put_sample(out, f, "_count", s, NULL, (double)s->count);
	}
}

static void put_process(pb_buf *out, const char *name, const char *help, const char *type, double v)
{
	char num[40];

	put_header(out, name, help, type);
	fmt_double(v, num, sizeof(num));
	pb_buf_printf(out, "%s %s\n", name, num);
}

static int read_small_file(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "re");
	size_t n;

	if (!fp)
		return -errno;
	n = fread(buf, 1, size - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return n ? 0 : -EIO;
}

/* Fields after the command name of /proc/self/stat: [0] is field 3 (state). */
static int proc_stat_fields(unsigned long long *utime, unsigned long long *stime,
			    unsigned long long *start)
{
	char buf[1024], *p, *end;
	unsigned long long v;

	if (read_small_file("/proc/self/stat", buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return -EIO;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (field == 3) {  /* the state letter */
			p++;
			continue;
		}
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || end == p)
			return -EIO;
		p = end;
		if (field == 14)
			*utime = v;
		else if (field == 15)
			*stime = v;
		else if (field == 22)
			*start = v;
	}
	return 0;
}

static int boot_time(unsigned long long *btime)
{
	char buf[8192], *p, *end;

	if (read_small_file("/proc/stat", buf, sizeof(buf)) || !(p = strstr(buf, "\nbtime ")))
		return -EIO;
	errno = 0;
	*btime = strtoull(p + 7, &end, 10);
	return errno || end == p + 7 ? -EIO : 0;
}

static int count_open_fds(long *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long count = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			count++;
	closedir(d);
	*n = count - 1;  /* the directory stream's own descriptor */
	return 0;
}

static void render_process(pb_buf *out)
{
	long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK), fds = 0;
	unsigned long long ut = 0, st = 0, start = 0, btime = 0, vsize = 0, rss = 0;
	struct rlimit rl;
	char buf[256];

	if (tck > 0 && !proc_stat_fields(&ut, &st, &start)) {
		put_process(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
			    "counter", (double)(ut + st) / (double)tck);
		if (!boot_time(&btime))
			put_process(out, "process_start_time_seconds",
				    "Start time of the process since unix epoch in seconds.", "gauge",
				    (double)btime + (double)start / (double)tck);
	}
	if (!count_open_fds(&fds))
		put_process(out, "process_open_fds", "Number of open file descriptors.", "gauge", (double)fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		put_process(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge",
			    (double)rl.rlim_cur);
	if (page > 0 && !read_small_file("/proc/self/statm", buf, sizeof(buf)) &&
	    sscanf(buf, "%llu %llu", &vsize, &rss) == 2) {
		put_process(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
			    (double)vsize * (double)page);
		put_process(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
			    (double)rss * (double)page);
	}
}

int pb_metrics_render(pb_metrics *m, pb_buf *out)
{
	pthread_mutex_lock(&m->lock);
	for (const pb_metric *f = m->head; f; f = f->next)
		render_family(out, f);
	pthread_mutex_unlock(&m->lock);
	/* /proc reads happen outside the lock: updaters never wait on the file system. */
	if (m->flags & PB_METRICS_PROCESS)
		render_process(out);
	return out->oom ? -ENOMEM : 0;
}

/* ---- promobot's families ---- */

int pb_metrics_promobot_register(pb_metrics *m, pb_metrics_promobot *out, pb_err *err)
{
	const double *lat = pb_metrics_latency_buckets;
	size_t nlat = pb_metrics_latency_nbuckets;
	const struct {
		pb_metric **slot;
		pb_metric_desc d;
	} fams[] = {
		{ &out->commands, { "promobot_commands_total", "Chat commands handled, by verb and result.",
				    PB_METRIC_COUNTER, { "verb", "result" }, NULL, 0 } },
		{ &out->ack_latency, { "promobot_ack_latency_seconds",
				       "Time from receiving a Socket Mode envelope to writing its ack.",
				       PB_METRIC_HISTOGRAM, { NULL }, lat, nlat } },
		{ &out->queue_depth, { "promobot_queue_depth", "Jobs queued or running, per worker pool.",
				       PB_METRIC_GAUGE, { "pool" }, NULL, 0 } },
		{ &out->jobs_dropped, { "promobot_jobs_dropped_total",
					"Background jobs dropped or deferred because their pool was full.",
					PB_METRIC_COUNTER, { "pool" }, NULL, 0 } },
		{ &out->slack_reconnects, { "promobot_slack_reconnects_total",
					    "Slack Socket Mode connections opened after the first one.",
					    PB_METRIC_COUNTER, { NULL }, NULL, 0 } },
		{ &out->slack_posts, { "promobot_slack_posts_total", "Messages posted to Slack, by result.",
				       PB_METRIC_COUNTER, { "result" }, NULL, 0 } },
		{ &out->slack_rate_limited, { "promobot_slack_rate_limited_total",
					      "Slack Web API answers with HTTP 429 (rate limited).",
					      PB_METRIC_COUNTER, { NULL }, NULL, 0 } },
		{ &out->storage_tx, { "promobot_storage_transaction_seconds",
				      "Duration of one storage transaction, begin to commit.",
				      PB_METRIC_HISTOGRAM, { NULL }, lat, nlat } },
		{ &out->github_outbox_pending, { "promobot_github_outbox_pending",
						 "GitHub updates decided but not delivered yet (every group).",
						 PB_METRIC_GAUGE, { NULL }, NULL, 0 } },
		{ &out->leader, { "promobot_leader",
				  "1 while this replica holds the scheduler lease (runs checks, reports, GitHub delivery).",
				  PB_METRIC_GAUGE, { NULL }, NULL, 0 } },
		{ &out->cpu_lanes, { "promobot_cpu_lanes",
				     "CPU lanes shared by the command workers and the Slack poster (worker_cpus); 0: no cap.",
				     PB_METRIC_GAUGE, { NULL }, NULL, 0 } },
		{ &out->cpu_lane_waits, { "promobot_cpu_lane_waits_total",
					  "Times a command worker (between jobs) or the Slack poster found no free CPU lane and slept.",
					  PB_METRIC_COUNTER, { "thread" }, NULL, 0 } },
		{ &out->slack_thread_waits, { "promobot_slack_thread_waits_total",
					      "Cards that waited for the thread of a promotion another replica claimed.",
					      PB_METRIC_COUNTER, { NULL }, NULL, 0 } },
	};
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		if ((rc = pb_metrics_register(m, &fams[i].d, fams[i].slot, err)))
			return rc;
	return 0;
}
