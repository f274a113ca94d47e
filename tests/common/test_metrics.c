/* test_metrics.c — the Prometheus registry: values, exact exposition lines, escaping, refused names, threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb_metrics.h"

static pb_metrics *reg(unsigned flags)
{
	pb_metrics *m;

	cr_assert_eq(pb_metrics_new(flags, &m), 0);
	return m;
}

static pb_metric *must_register(pb_metrics *m, pb_metric_desc d)
{
	pb_metric *f;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_metrics_register(m, &d, &f, &err), 0, "register %s: %s", d.name, pb_err_text(&err));
	cr_assert_not_null(f);
	return f;
}

static char *render(pb_metrics *m)
{
	pb_buf b;

	pb_buf_init(&b);
	cr_assert_eq(pb_metrics_render(m, &b), 0);
	return pb_buf_steal(&b);
}

Test(metrics, values_and_exact_exposition)
{
	static const double b[] = { 0.1, 1, 2.5 };
	pb_metrics *m = reg(0);
	pb_metric *cmds = must_register(m, (pb_metric_desc){ .name = "promobot_commands_total", .help = "Commands handled.",
					.type = PB_METRIC_COUNTER, .labels = { "verb", "result" } });
	pb_metric *depth = must_register(m, (pb_metric_desc){ .name = "queue_depth", .help = "Jobs queued.",
					.type = PB_METRIC_GAUGE, .labels = { "pool" } });
	pb_metric *lat = must_register(m, (pb_metric_desc){ .name = "ack_seconds", .help = "Ack latency.",
					.type = PB_METRIC_HISTOGRAM, .buckets = b, .nbuckets = 3 });
	pb_metric *up = must_register(m, (pb_metric_desc){ .name = "ns:up_total", .help = "Colons are fine.",
					.type = PB_METRIC_COUNTER });

	cr_assert_eq(pb_metric_inc(cmds, PB_LV("status", "ok")), 0);
	cr_assert_eq(pb_metric_inc(cmds, PB_LV("status", "ok")), 0);
	cr_assert_eq(pb_metric_add(cmds, PB_LV("deploy", "failed"), 3), 0);
	cr_assert_eq(pb_metric_set(depth, PB_LV("interactive"), 7), 0);
	cr_assert_eq(pb_metric_add(depth, PB_LV("interactive"), -2.5), 0);
	cr_assert_eq(pb_metric_touch(depth, PB_LV("background")), 0);
	cr_assert_eq(pb_metric_observe(lat, NULL, 0.05), 0);
	cr_assert_eq(pb_metric_observe(lat, NULL, 0.1), 0);   /* le is inclusive */
	cr_assert_eq(pb_metric_observe(lat, NULL, 2), 0);
	cr_assert_eq(pb_metric_observe(lat, NULL, 30), 0);    /* only in +Inf */
	cr_assert_eq(pb_metric_add(up, NULL, 0.1), 0);

	cr_assert_eq(pb_metric_value(cmds, PB_LV("status", "ok")), 2);
	cr_assert_eq(pb_metric_value(cmds, PB_LV("status", "busy")), 0);
	cr_assert_eq(pb_metric_value(depth, PB_LV("interactive")), 4.5);
	cr_assert_eq(pb_metric_value(lat, NULL), 4);
	cr_assert_float_eq(pb_metric_sum(lat, NULL), 32.15, 1e-9);
	cr_assert_eq(pb_metrics_find(m, "queue_depth"), depth);
	cr_assert_null(pb_metrics_find(m, "nope"));

	char *text = render(m);
	cr_assert_str_eq(text,
		"# HELP promobot_commands_total Commands handled.\n"
		"# TYPE promobot_commands_total counter\n"
		"promobot_commands_total{verb=\"status\",result=\"ok\"} 2\n"
		"promobot_commands_total{verb=\"deploy\",result=\"failed\"} 3\n"
		"# HELP queue_depth Jobs queued.\n"
		"# TYPE queue_depth gauge\n"
		"queue_depth{pool=\"interactive\"} 4.5\n"
		"queue_depth{pool=\"background\"} 0\n"
		"# HELP ack_seconds Ack latency.\n"
		"# TYPE ack_seconds histogram\n"
		"ack_seconds_bucket{le=\"0.1\"} 2\n"
		"ack_seconds_bucket{le=\"1\"} 2\n"
		"ack_seconds_bucket{le=\"2.5\"} 3\n"
		"ack_seconds_bucket{le=\"+Inf\"} 4\n"
		"ack_seconds_sum 32.15\n"
		"ack_seconds_count 4\n"
		"# HELP ns:up_total Colons are fine.\n"
		"# TYPE ns:up_total counter\n"
		"ns:up_total 0.1\n");
	free(text);
	pb_metrics_free(m);
}

Test(metrics, labelled_histogram_and_number_spelling)
{
	static const double b[] = { 0.0005, 10 };
	pb_metrics *m = reg(0);
	pb_metric *h = must_register(m, (pb_metric_desc){ .name = "tx_seconds", .help = "Tx.",
					.type = PB_METRIC_HISTOGRAM, .labels = { "op" }, .buckets = b, .nbuckets = 2 });
	pb_metric *g = must_register(m, (pb_metric_desc){ .name = "big", .help = "Big.",
					.type = PB_METRIC_GAUGE });

	cr_assert_eq(pb_metric_observe(h, PB_LV("commit"), 0.0001), 0);
	cr_assert_eq(pb_metric_observe(h, PB_LV("commit"), INFINITY), 0);
	cr_assert_eq(pb_metric_set(g, NULL, 12345678901234.0), 0);
	char *text = render(m);
	cr_assert(strstr(text, "tx_seconds_bucket{op=\"commit\",le=\"0.0005\"} 1\n"), "%s", text);
	cr_assert(strstr(text, "tx_seconds_bucket{op=\"commit\",le=\"10\"} 1\n"), "%s", text);
	cr_assert(strstr(text, "tx_seconds_bucket{op=\"commit\",le=\"+Inf\"} 2\n"), "%s", text);
	cr_assert(strstr(text, "tx_seconds_sum{op=\"commit\"} +Inf\n"), "%s", text);
	cr_assert(strstr(text, "tx_seconds_count{op=\"commit\"} 2\n"), "%s", text);
	cr_assert(strstr(text, "big 12345678901234\n"), "%s", text);
	free(text);
	cr_assert_eq(pb_metric_set(g, NULL, -INFINITY), 0);
	text = render(m);
	cr_assert(strstr(text, "big -Inf\n"), "%s", text);
	free(text);
	pb_metrics_free(m);
}

Test(metrics, label_values_and_help_are_escaped)
{
	pb_metrics *m = reg(0);
	pb_metric *c = must_register(m, (pb_metric_desc){ .name = "esc_total", .help = "Back\\slash and\nnewline \"quoted\".",
					.type = PB_METRIC_COUNTER, .labels = { "v" } });

	cr_assert_eq(pb_metric_inc(c, PB_LV("a\\b\"c\nd é")), 0);
	char *text = render(m);
	/* HELP escapes backslash and newline only; label values also the double quote. */
	cr_assert(strstr(text, "# HELP esc_total Back\\\\slash and\\nnewline \"quoted\".\n"), "%s", text);
	cr_assert(strstr(text, "esc_total{v=\"a\\\\b\\\"c\\nd é\"} 1\n"), "%s", text);
	free(text);
	pb_metrics_free(m);
}

static int try_register(pb_metrics *m, pb_metric_desc d)
{
	pb_metric *f = (pb_metric *)&d;  /* must be reset to NULL on failure */
	pb_err err;
	int rc;

	pb_err_init(&err);
	rc = pb_metrics_register(m, &d, &f, &err);
	if (rc) {
		cr_assert_null(f);
		cr_assert(err.set, "no error text for %s", d.name ? d.name : "(null)");
	}
	return rc;
}

Test(metrics, bad_names_are_refused_and_never_emitted)
{
	static const double ok_b[] = { 1, 2 }, bad_b[] = { 2, 1 }, nan_b[] = { 1, NAN };
	pb_metrics *m = reg(PB_METRICS_PROCESS);

	must_register(m, (pb_metric_desc){ .name = "h", .help = "H.",
					.type = PB_METRIC_HISTOGRAM, .buckets = ok_b, .nbuckets = 2 });
	must_register(m, (pb_metric_desc){ .name = "dup_total", .help = "D.", .type = PB_METRIC_COUNTER });
	const pb_metric_desc bad[] = {
		{ .name = "1abc_total", .help = "x", .type = PB_METRIC_COUNTER },
		{ .name = "a-b_total", .help = "x", .type = PB_METRIC_COUNTER },
		{ .name = "bad name", .help = "x", .type = PB_METRIC_GAUGE },
		{ .name = "", .help = "x", .type = PB_METRIC_GAUGE },
		{ .name = NULL, .help = "x", .type = PB_METRIC_GAUGE },
		{ .name = "no_suffix", .help = "counters end in _total", .type = PB_METRIC_COUNTER },
		{ .name = "gauge_total", .help = "only counters end in _total", .type = PB_METRIC_GAUGE },
		{ .name = "nohelp", .help = NULL, .type = PB_METRIC_GAUGE },
		{ .name = "badhelp", .help = "\xff", .type = PB_METRIC_GAUGE },
		{ .name = "lbl1", .help = "x", .type = PB_METRIC_GAUGE, .labels = { "1x" } },
		{ .name = "lbl2", .help = "x", .type = PB_METRIC_GAUGE, .labels = { "a:b" } },
		{ .name = "lbl3", .help = "x", .type = PB_METRIC_GAUGE, .labels = { "__reserved" } },
		{ .name = "lbl4", .help = "x", .type = PB_METRIC_GAUGE, .labels = { "a", "a" } },
		{ .name = "lbl5", .help = "x", .type = PB_METRIC_GAUGE, .labels = { NULL, "a" } },
		{ .name = "hle", .help = "x",
						.type = PB_METRIC_HISTOGRAM, .labels = { "le" }, .buckets = ok_b, .nbuckets = 2 },
		{ .name = "hnob", .help = "x", .type = PB_METRIC_HISTOGRAM },
		{ .name = "hbad", .help = "x", .type = PB_METRIC_HISTOGRAM, .buckets = bad_b, .nbuckets = 2 },
		{ .name = "hnan", .help = "x", .type = PB_METRIC_HISTOGRAM, .buckets = nan_b, .nbuckets = 2 },
		{ .name = "dup_total", .help = "x", .type = PB_METRIC_COUNTER },
		{ .name = "h_sum", .help = "collides with histogram h", .type = PB_METRIC_GAUGE },
		{ .name = "h_bucket", .help = "collides with histogram h", .type = PB_METRIC_GAUGE },
		{ .name = "process_open_fds", .help = "rendered by the process collector",
						.type = PB_METRIC_GAUGE },
	};
	const size_t nbad = sizeof(bad) / sizeof(bad[0]);

	for (size_t i = 0; i < nbad; i++)
		cr_assert_eq(try_register(m, bad[i]), PB_E_INVALID, "%s accepted",
			     bad[i].name ? bad[i].name : "(null)");
	/* A histogram "dup" renders dup_bucket/_sum/_count: no clash with the counter dup_total. */
	cr_assert_eq(try_register(m, (pb_metric_desc){ .name = "dup", .help = "x",
					.type = PB_METRIC_HISTOGRAM, .buckets = ok_b, .nbuckets = 2 }), 0);
	/* The clash is checked both ways: a histogram whose _sum is an existing gauge is refused. */
	cr_assert_eq(try_register(m, (pb_metric_desc){ .name = "hist_sum", .help = "x",
					.type = PB_METRIC_GAUGE }), 0);
	cr_assert_eq(try_register(m, (pb_metric_desc){ .name = "hist", .help = "x",
					.type = PB_METRIC_HISTOGRAM, .buckets = ok_b, .nbuckets = 2 }),
		     PB_E_INVALID);

	char *text = render(m);
	for (size_t i = 0; i < nbad; i++) {
		const char *n = bad[i].name;

		if (n && *n && strcmp(n, "dup_total") && strcmp(n, "process_open_fds") && strncmp(n, "h_", 2)) {
			char line[64];

			snprintf(line, sizeof(line), "\n%s", n);
			cr_assert_null(strstr(text, line), "%s was emitted", n);
		}
	}
	const char *once = strstr(text, "# TYPE process_open_fds gauge\n");
	cr_assert(once && !strstr(once + 1, "# TYPE process_open_fds"), "process_open_fds not exactly once");
	free(text);
	pb_metrics_free(m);
}

Test(metrics, wrong_updates_are_refused_and_change_nothing)
{
	static const double b[] = { 1 };
	pb_metrics *m = reg(0);
	pb_metric *c = must_register(m, (pb_metric_desc){ .name = "c_total", .help = "C.",
					.type = PB_METRIC_COUNTER, .labels = { "a", "b" } });
	pb_metric *g = must_register(m, (pb_metric_desc){ .name = "g", .help = "G.",
					.type = PB_METRIC_GAUGE });
	pb_metric *h = must_register(m, (pb_metric_desc){ .name = "h", .help = "H.",
					.type = PB_METRIC_HISTOGRAM, .buckets = b, .nbuckets = 1 });

	cr_assert_eq(pb_metric_add(c, PB_LV("x", "y"), -1), PB_E_INVALID);
	cr_assert_eq(pb_metric_add(c, PB_LV("x", "y"), NAN), PB_E_INVALID);
	cr_assert_eq(pb_metric_set(c, PB_LV("x", "y"), 1), PB_E_INVALID);
	cr_assert_eq(pb_metric_inc(c, PB_LV("x", NULL)), PB_E_INVALID);
	cr_assert_eq(pb_metric_inc(c, NULL), PB_E_INVALID);
	cr_assert_eq(pb_metric_inc(c, PB_LV("x", "\xc3")), PB_E_INVALID);
	cr_assert_eq(pb_metric_observe(g, NULL, 1), PB_E_INVALID);
	cr_assert_eq(pb_metric_add(g, NULL, NAN), PB_E_INVALID);
	cr_assert_eq(pb_metric_inc(h, NULL), PB_E_INVALID);
	cr_assert_eq(pb_metric_observe(h, NULL, NAN), PB_E_INVALID);
	/* NULL handles: metrics not configured, updates are no-ops. */
	cr_assert_eq(pb_metric_inc(NULL, PB_LV("x")), 0);
	cr_assert_eq(pb_metric_observe(NULL, NULL, 1), 0);

	char *text = render(m);
	cr_assert_str_eq(text, "# HELP c_total C.\n# TYPE c_total counter\n"
			       "# HELP g G.\n# TYPE g gauge\ng 0\n"
			       "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n"
			       "h_sum 0\nh_count 0\n");
	free(text);

	/* The series cap keeps a runaway label from growing memory. */
	for (int i = 0; i < PB_METRICS_MAX_SERIES; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		cr_assert_eq(pb_metric_inc(c, PB_LV(v, "y")), 0);
	}
	cr_assert_eq(pb_metric_inc(c, PB_LV("one-more", "y")), PB_E_BUSY);
	cr_assert_eq(pb_metric_inc(c, PB_LV("7", "y")), 0, "existing series still count");
	cr_assert_eq(pb_metric_value(c, PB_LV("7", "y")), 2);
	pb_metrics_free(m);
}

#define THREADS 8
#define ROUNDS 20000

typedef struct {
	pb_metric *c, *h, *g;
	int index;
} worker_arg;

static void *hammer(void *p)
{
	worker_arg *a = p;
	const char *verb = a->index % 2 ? "odd" : "even";

	for (int i = 0; i < ROUNDS; i++) {
		pb_metric_inc(a->c, PB_LV(verb));
		pb_metric_observe(a->h, NULL, (i % 4) * 0.5);
		pb_metric_add(a->g, NULL, a->index % 2 ? 1 : -1);
	}
	return NULL;
}

Test(metrics, concurrent_updates_sum_exactly)
{
	static const double b[] = { 0.5, 1 };
	pb_metrics *m = reg(PB_METRICS_PROCESS);
	pthread_t t[THREADS];
	worker_arg a[THREADS];
	pb_metric *c = must_register(m, (pb_metric_desc){ .name = "ops_total", .help = "O.",
					.type = PB_METRIC_COUNTER, .labels = { "verb" } });
	pb_metric *h = must_register(m, (pb_metric_desc){ .name = "lat", .help = "L.",
					.type = PB_METRIC_HISTOGRAM, .buckets = b, .nbuckets = 2 });
	pb_metric *g = must_register(m, (pb_metric_desc){ .name = "level", .help = "L.",
					.type = PB_METRIC_GAUGE });

	for (int i = 0; i < THREADS; i++) {
		a[i] = (worker_arg){ c, h, g, i };
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, &a[i]), 0);
	}
	/* Rendering concurrently with the updates must be safe too (ASan/TSan-style check). */
	for (int i = 0; i < 20; i++)
		free(render(m));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	cr_assert_eq(pb_metric_value(c, PB_LV("odd")), THREADS / 2 * ROUNDS);
	cr_assert_eq(pb_metric_value(c, PB_LV("even")), THREADS / 2 * ROUNDS);
	cr_assert_eq(pb_metric_value(h, NULL), THREADS * ROUNDS);
	cr_assert_eq(pb_metric_sum(h, NULL), THREADS * ROUNDS / 4 * (0 + 0.5 + 1 + 1.5));
	cr_assert_eq(pb_metric_value(g, NULL), 0);
	char *text = render(m);
	char line[96];
	snprintf(line, sizeof(line), "lat_bucket{le=\"0.5\"} %d\n", THREADS * ROUNDS / 2);
	cr_assert(strstr(text, line), "%s", text);
	snprintf(line, sizeof(line), "lat_bucket{le=\"1\"} %d\n", THREADS * ROUNDS / 4 * 3);
	cr_assert(strstr(text, line), "%s", text);
	free(text);
	pb_metrics_free(m);
}

static double sample(const char *text, const char *name)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(text, key);
	cr_assert_not_null(p, "%s missing in:\n%s", name, text);
	return strtod(p + strlen(key), NULL);
}

Test(metrics, process_metrics_from_proc)
{
	pb_metrics *m = reg(PB_METRICS_PROCESS);
	int fds[2];

	char *text = render(m);
	double open0 = sample(text, "process_open_fds");
	cr_assert_gt(sample(text, "process_resident_memory_bytes"), 1 << 20);
	cr_assert_geq(sample(text, "process_virtual_memory_bytes"), sample(text, "process_resident_memory_bytes"));
	cr_assert_gt(sample(text, "process_max_fds"), 0);
	cr_assert_geq(sample(text, "process_cpu_seconds_total"), 0);
	cr_assert_gt(sample(text, "process_start_time_seconds"), 1600000000);
	cr_assert(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
	cr_assert(strstr(text, "# TYPE process_resident_memory_bytes gauge\n"));
	free(text);

	cr_assert_eq(pipe(fds), 0);
	text = render(m);
	cr_assert_eq(sample(text, "process_open_fds"), open0 + 2);
	free(text);
	close(fds[0]);
	close(fds[1]);
	pb_metrics_free(m);
}

Test(metrics, promobot_families_register_once)
{
	pb_metrics *m = reg(PB_METRICS_PROCESS);
	pb_metrics_promobot p;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_metrics_promobot_register(m, &p, &err), 0, "%s", pb_err_text(&err));
	cr_assert(p.commands && p.ack_latency && p.queue_depth && p.jobs_dropped && p.slack_reconnects &&
		  p.slack_posts && p.slack_rate_limited && p.storage_tx && p.cpu_lanes && p.cpu_lane_waits &&
		  p.slack_thread_waits);
	cr_assert_eq(pb_metric_add(p.cpu_lane_waits, PB_LV("poster"), 3), 0);
	cr_assert_eq(pb_metric_inc(p.commands, PB_LV("status", "ok")), 0);
	cr_assert_eq(pb_metric_observe(p.ack_latency, NULL, 0.0007), 0);
	char *text = render(m);
	cr_assert(strstr(text, "promobot_commands_total{verb=\"status\",result=\"ok\"} 1\n"));
	cr_assert(strstr(text, "promobot_ack_latency_seconds_bucket{le=\"0.0005\"} 0\n"));
	cr_assert(strstr(text, "promobot_ack_latency_seconds_bucket{le=\"0.001\"} 1\n"));
	cr_assert(strstr(text, "promobot_ack_latency_seconds_bucket{le=\"10\"} 1\n"));
	cr_assert(strstr(text, "# TYPE promobot_queue_depth gauge\n"));
	cr_assert(strstr(text, "promobot_slack_reconnects_total 0\n"));
	cr_assert(strstr(text, "promobot_slack_rate_limited_total 0\n"));
	cr_assert(strstr(text, "promobot_storage_transaction_seconds_count 0\n"));
	cr_assert(strstr(text, "promobot_cpu_lanes 0\n"));
	cr_assert(strstr(text, "promobot_cpu_lane_waits_total{thread=\"poster\"} 3\n"));
	cr_assert(strstr(text, "promobot_slack_thread_waits_total 0\n"));
	free(text);

	pb_err_init(&err);
	cr_assert_eq(pb_metrics_promobot_register(m, &p, &err), PB_E_INVALID);
	cr_assert(strstr(pb_err_text(&err), "already registered"), "%s", pb_err_text(&err));
	pb_metrics_free(m);
}

/* A thread that keeps the registry's lock busy with its own updates until told to stop. */
typedef struct lock_hammer {
	pb_metric *f;
	atomic_bool stop;
} lock_hammer;

static void *lock_hammer_run(void *arg)
{
	lock_hammer *h = arg;

	while (!atomic_load(&h->stop))
		pb_metric_inc(h->f, NULL);
	return NULL;
}

/*
 * observe_many_try never waits: while another thread holds the registry it
 * says busy and records none of the batch; what it accepted is all there,
 * once. (The event loop keeps its ack latencies this way.)
 */
Test(metrics, observe_many_try_records_all_or_nothing_and_never_waits)
{
	pb_metrics *m = reg(0);
	const double bounds[] = { 0.001, 0.01 };
	pb_metric_desc hd = { "try_seconds", "h", PB_METRIC_HISTOGRAM, { NULL }, bounds, 2 };
	pb_metric_desc cd = { "hammer_total", "c", PB_METRIC_COUNTER, { NULL }, NULL, 0 };
	const double batch[3] = { 0.0005, 0.005, 0.5 };
	const double nan_batch[2] = { 0.0005, NAN };
	lock_hammer h = { NULL, false };
	pb_metric *f;
	pthread_t t;
	long accepted = 0, busy = 0;

	cr_assert_eq(pb_metrics_register(m, &hd, &f, NULL), 0);
	cr_assert_eq(pb_metrics_register(m, &cd, &h.f, NULL), 0);
	cr_assert_eq(pb_metric_observe_many_try(f, NULL, nan_batch, 2), PB_E_INVALID);
	cr_assert_eq(pb_metric_value(f, NULL), 0, "a batch with a NaN records nothing");
	cr_assert_eq(pthread_create(&t, NULL, lock_hammer_run, &h), 0);
	/* bounded: a busy answer comes within a few thousand tries on any machine with two threads running */
	for (long i = 0; i < 20000000 && (busy < 10 || accepted < 10); i++) {
		int rc = pb_metric_observe_many_try(f, NULL, batch, 3);

		cr_assert(rc == 0 || rc == PB_E_BUSY, "rc %d", rc);
		if (rc)
			busy++;
		else
			accepted++;
	}
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	cr_assert_geq(busy, 10, "never busy while another thread updated the registry");
	cr_assert_eq(pb_metric_value(f, NULL), (double)(3 * accepted), "count = 3 per accepted batch, none per busy one");
	cr_assert_float_eq(pb_metric_sum(f, NULL), 0.5055 * (double)accepted, 1e-6 * (double)accepted);
	pb_metrics_free(m);
}
