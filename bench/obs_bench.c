/* obs_bench.c — observation at scale: daily reports and 7-day verdicts for 1,000 components, and bytes per stored sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pb_clock.h"
#include "pb_obs.h"
#include "pb_store.h"
#include "pb_tz.h"

#define COMPONENTS 1000

static unsigned seed = 12345;

/* A latency with a tail: mostly 2–6 ms, 1 % of 20–200 ms. */
static int32_t latency_us(void)
{
	unsigned r = (unsigned)rand_r(&seed);

	return r % 100 == 0 ? (int32_t)(20000 + r % 180000) : (int32_t)(2000 + r % 4000);
}

/* One component's samples at `interval` from t0 for n slots: some DOWN runs, some missing slots. */
static size_t fill(pb_sample *s, int64_t t0, int interval, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned r = (unsigned)rand_r(&seed);

		if (r % 1000 == 0)
			continue;  /* the bot missed this slot: UNKNOWN */
		s[k] = (pb_sample){ .slot = t0 + (int64_t)i * interval, .state = PB_SAMPLE_UP, .latency_us = latency_us(),
				    .cpu_dpct = -1, .mem_kb = -1 };
		if (r % 500 == 1) {
			s[k].state = PB_SAMPLE_DOWN;
			s[k].cls = PB_CHK_TIMEOUT;
			s[k].latency_us = -1;
		}
		if (i % 5 == 0) {
			s[k].flags |= PB_SAMPLE_F_STATS;
			s[k].cpu_dpct = (int32_t)(r % 400);
			s[k].mem_kb = (int32_t)(400000 + r % 200000);
		}
		k++;
	}
	return k;
}

static double now_s(void)
{
	return pb_clock_mono_ms(NULL) / 1000.0;
}

static void bench_reports(const pb_tz *tz)
{
	int64_t day = pb_civil_days(2026, 12, 1), t0 = pb_tz_day_start(tz, day);
	pb_sample **all = malloc(COMPONENTS * sizeof(*all));
	size_t *n = malloc(COMPONENTS * sizeof(*n)), total = 0, bytes = 0;
	pb_obs_grid g = { .first_slot = t0, .interval_s = 60, .until = t0 + 2 * 86400 };
	double t;
	pb_buf out;

	for (int c = 0; c < COMPONENTS; c++) {
		all[c] = malloc(1440 * sizeof(pb_sample));
		n[c] = fill(all[c], t0, 60, 1440);
		total += n[c];
	}
	pb_buf_init(&out);
	t = now_s();
	for (int c = 0; c < COMPONENTS; c++) {
		pb_obs_day d;

		pb_obs_day_compute(tz, day, day, &g, all[c], n[c], &d);
		pb_buf_reset(&out);
		pb_obs_day_render(tz, &d, NULL, false, &out);
		bytes += out.len;
	}
	t = now_s() - t;
	printf("daily reports: %d components x 1 day at 60 s = %zu samples: %.3f s (%.0f ns/sample, %.0f us/report, "
	       "%zu bytes of text)\n", COMPONENTS, total, t, t * 1e9 / (double)total, t * 1e6 / COMPONENTS, bytes);
	pb_buf_deinit(&out);
	for (int c = 0; c < COMPONENTS; c++)
		free(all[c]);
	free(all);
	free(n);
}

static void bench_verdicts(void)
{
	int64_t t0 = 1796000000;
	size_t slots = 7 * 288, total = 0;
	pb_sample *s = malloc(slots * sizeof(*s));
	pb_obs_grid g = { .first_slot = t0, .interval_s = 300, .until = t0 + 7 * 86400 };
	double t, spent = 0;
	int pass = 0;

	for (int c = 0; c < COMPONENTS; c++) {
		size_t n = fill(s, t0, 300, slots);
		pb_obs_verdict v;

		total += n;
		t = now_s();
		pb_obs_verdict_compute(&g, t0, t0 + 7 * 86400, s, n, 99.5, 99, 0, &v);
		spent += now_s() - t;
		pass += v.kind == PB_VERDICT_PASS;
	}
	printf("7-day verdicts: %d components at 300 s = %zu samples: %.3f s (%.0f ns/sample), %d PASS\n", COMPONENTS,
	       total, spent, spent * 1e9 / (double)total, pass);
	free(s);
}

/* Records samples through the store as the scheduler does (one transaction per check) and divides the file's growth. */
static void bench_storage(int promotions, int slots)
{
	char dir[] = "/tmp/promobot-obsbench-XXXXXX", path[300], wal[320], shm[320];
	pb_store *st = NULL;
	struct stat sb0, sb1;
	pb_err e;
	double t;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	pb_err_init(&e);
	if (pb_store_open(path, &st, &e)) {
		fprintf(stderr, "%s\n", pb_err_text(&e));
		return;
	}
	for (int p = 0; p < promotions; p++) {
		pb_promotion pr = { .from_stage = 1, .target_stage = 2, .created_at = 1796000000, .updated_at = 1796000000 };

		snprintf(pr.component, sizeof(pr.component), "c%d", p);
		snprintf(pr.requester, sizeof(pr.requester), "alice");
		pb_store_promotion_insert(st, &pr, &e);
	}
	stat(path, &sb0);
	t = now_s();
	for (int i = 0; i < slots; i++)
		for (int p = 1; p <= promotions; p++) {
			pb_sample s = { .promotion_id = p, .slot = 1796000000 + (int64_t)i * 10, .state = PB_SAMPLE_UP,
					.latency_us = latency_us(), .cpu_dpct = -1, .mem_kb = -1 };
			pb_monitor_state ms = { .promotion_id = p, .health = PB_SAMPLE_UP, .last_slot = s.slot,
						.checks = i + 1, .restart_count = 0, .last_latency_us = s.latency_us,
						.last_state = PB_SAMPLE_UP, .last_at = s.slot };

			if (i % 5 == 0) {
				s.flags = PB_SAMPLE_F_STATS;
				s.cpu_dpct = 25;
				s.mem_kb = 512000;
			}
			pb_store_begin(st, &e);
			pb_store_sample_record(st, &s, &ms, &e);
			pb_store_commit(st, &e);
		}
	t = now_s() - t;
	pb_store_close(st);  /* checkpoints the WAL into the file */
	stat(path, &sb1);
	printf("storage: %d promotions x %d checks = %d samples recorded in %.2f s (%.0f us per check transaction), "
	       "file grew %lld bytes = %.1f bytes/sample\n", promotions, slots, promotions * slots, t,
	       t * 1e6 / (promotions * slots), (long long)(sb1.st_size - sb0.st_size),
	       (double)(sb1.st_size - sb0.st_size) / (promotions * slots));
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	pb_tz *tz = NULL;
	pb_err e;

	pb_err_init(&e);
	if (pb_tz_load(argc > 1 ? argv[1] : "Europe/Berlin", &tz, &e)) {
		fprintf(stderr, "%s\n", pb_err_text(&e));
		return 1;
	}
	bench_reports(tz);
	bench_verdicts();
	bench_storage(100, 200);
	pb_tz_free(tz);
	return 0;
}
