/* pb_metrics.h — a small thread-safe Prometheus registry: counters, gauges, histograms, text exposition 0.0.4. */
#ifndef PB_METRICS_H
#define PB_METRICS_H

#include <stddef.h>

#include "pb_err.h"
#include "pb_str.h"

/*
 * Families are registered once at start-up (name, help, type, up to
 * PB_METRICS_MAX_LABELS fixed label names, histogram buckets); the returned
 * pb_metric handle stays valid until pb_metrics_free. Updates name the label
 * values per call, in registration order; a series is created on first use
 * (at most PB_METRICS_MAX_SERIES per family, so a bug cannot grow memory
 * without bound).
 *
 * Threads: one mutex per registry guards every family. An update takes it for
 * a lookup over the family's series (a few strcmp) and an add; rendering holds
 * it while formatting, so keep registries small (tens of families, hundreds
 * of series). Any thread may update; render from one thread at a time or many,
 * both are safe.
 *
 * Updates through a NULL handle are no-ops returning 0, so code can be wired
 * for metrics whether or not the bot was configured to expose them.
 */
#define PB_METRICS_MAX_LABELS 2
#define PB_METRICS_MAX_SERIES 512
#define PB_METRICS_MAX_BUCKETS 32

typedef struct pb_metrics pb_metrics;
typedef struct pb_metric pb_metric;

typedef enum { PB_METRIC_COUNTER, PB_METRIC_GAUGE, PB_METRIC_HISTOGRAM } pb_metric_type;

/* Flags of pb_metrics_new. */
enum {
	/* Render process_* metrics (RSS, open fds, CPU, start time) from /proc. */
	PB_METRICS_PROCESS = 1u << 0,
};

typedef struct pb_metric_desc {
	const char *name;     /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in "_total" */
	const char *help;     /* one line, UTF-8; escaped on output */
	pb_metric_type type;
	/* Label names, [a-zA-Z_][a-zA-Z0-9_]* (no leading "__", no "le" on histograms);
	 * unused slots NULL. */
	const char *labels[PB_METRICS_MAX_LABELS];
	/* Histograms: finite upper bounds, strictly increasing; +Inf is implicit. */
	const double *buckets;
	size_t nbuckets;
} pb_metric_desc;

/* 0 ok, -ENOMEM. */
int pb_metrics_new(unsigned flags, pb_metrics **out);
/* Frees the registry and every handle it gave out. NULL-safe. */
void pb_metrics_free(pb_metrics *m);

/*
 * Registers a family. 0 ok with *out set (may be NULL if the caller only
 * wants it rendered); PB_E_INVALID with text in err for a bad name, label,
 * bucket list or help text, or a name that collides with an existing family
 * (including a histogram's _bucket/_sum/_count and the process_* names);
 * -ENOMEM.
 */
int pb_metrics_register(pb_metrics *m, const pb_metric_desc *d, pb_metric **out, pb_err *err);
/* The family registered under `name`, or NULL. */
pb_metric *pb_metrics_find(pb_metrics *m, const char *name);

/*
 * Updates. `lv` holds one label value per label name of the family (NULL
 * when it has none); values must be valid UTF-8 and are escaped on output.
 * 0 ok; PB_E_INVALID for a wrong type (inc on a histogram, a negative or NaN
 * counter step, NaN observation), wrong label count or non-UTF-8 value;
 * PB_E_BUSY when the family already holds PB_METRICS_MAX_SERIES series;
 * -ENOMEM. Nothing is changed unless 0 is returned.
 */
int pb_metric_add(pb_metric *f, const char *const *lv, double v);   /* counter (v >= 0) or gauge */
int pb_metric_inc(pb_metric *f, const char *const *lv);             /* add 1 */
int pb_metric_set(pb_metric *f, const char *const *lv, double v);   /* gauge only */
int pb_metric_observe(pb_metric *f, const char *const *lv, double v); /* histogram only */
/*
 * Records n observations of a histogram at once without waiting: PB_E_BUSY,
 * nothing recorded, while another thread updates the registry. For the event
 * loop, which must never wait on a lock a worker holds: it keeps them and
 * tries again later. PB_E_INVALID as above (any NaN: none recorded).
 */
int pb_metric_observe_many_try(pb_metric *f, const char *const *lv, const double *v, size_t n);
/* Creates the series with value 0 so it is rendered before its first event. */
int pb_metric_touch(pb_metric *f, const char *const *lv);

/* Convenience for families with 0, 1 or 2 labels: PB_LV("status", "ok"). */
#define PB_LV(...) ((const char *const[]){ __VA_ARGS__ })

/* Current value of a counter/gauge series, or a histogram's count; 0 when absent (tests, /healthz). */
double pb_metric_value(pb_metric *f, const char *const *lv);
/* A histogram series' sum of observations; 0 when absent. */
double pb_metric_sum(pb_metric *f, const char *const *lv);

/*
 * Appends the Prometheus text exposition (format 0.0.4) of every family, in
 * registration order, then the process metrics if the registry was created
 * with PB_METRICS_PROCESS. Serve it as "text/plain; version=0.0.4; charset=utf-8".
 * 0 ok, -ENOMEM (out->oom is then set and its contents are truncated).
 */
int pb_metrics_render(pb_metrics *m, pb_buf *out);

/* Bucket bounds for latencies in seconds: 0.0005 … 10. */
extern const double pb_metrics_latency_buckets[];
extern const size_t pb_metrics_latency_nbuckets;

/*
 * The families promobot exposes, registered in one place so names, labels and
 * help text stay consistent; the bot's modules keep the handles.
 *
 *   promobot_commands_total{verb,result}         counter  result: ok|refused|invalid|busy|failed|error
 *   promobot_ack_latency_seconds                 histogram envelope received -> ack written
 *   promobot_queue_depth{pool}                   gauge    jobs queued or running per pool
 *   promobot_jobs_dropped_total{pool}            counter  background jobs dropped or deferred on a full queue
 *   promobot_slack_reconnects_total              counter  Socket Mode connections opened after the first
 *   promobot_slack_posts_total{result}           counter  result: ok|error|unknown
 *   promobot_slack_rate_limited_total            counter  HTTP 429 answers from the Web API
 *   promobot_storage_transaction_seconds         histogram one storage transaction, begin -> commit
 *   promobot_leader                              gauge    1 while this replica is the scheduler leader
 *   promobot_cpu_lanes                           gauge    CPU lanes of the command workers and poster (0: no cap)
 *   promobot_cpu_lane_waits_total{thread}        counter  thread: worker|poster found no free lane and slept
 *   promobot_slack_thread_waits_total            counter  cards that waited for a thread another replica claimed
 */
typedef struct pb_metrics_promobot {
	pb_metric *commands;
	pb_metric *ack_latency;
	pb_metric *queue_depth;
	pb_metric *jobs_dropped;
	pb_metric *slack_reconnects;
	pb_metric *slack_posts;
	pb_metric *slack_rate_limited;
	pb_metric *storage_tx;
	pb_metric *github_outbox_pending;
	pb_metric *leader;
	pb_metric *cpu_lanes;
	pb_metric *cpu_lane_waits;
	pb_metric *slack_thread_waits;
} pb_metrics_promobot;

/* Registers the families above into m and fills `out`. 0 ok, PB_E_INVALID (name taken), -ENOMEM. */
int pb_metrics_promobot_register(pb_metrics *m, pb_metrics_promobot *out, pb_err *err);

#endif
