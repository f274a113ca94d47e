/* store_bench.c — storage write transactions per second and their p99, per backend: a CAS transition with its audit event each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb_store.h"
#include "pb_str.h"

#define DEFAULT_TX 5000

static const pb_state chain[] = { PB_ST_REQUESTED, PB_ST_VALIDATING, PB_ST_IN_REVIEW, PB_ST_APPROVED,
				  PB_ST_DEPLOYING, PB_ST_OBSERVING,  PB_ST_COMPLETED };
#define CHAIN_LEN (sizeof(chain) / sizeof(chain[0]))

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One promotion walked through the chain: each step begin → CAS → event → commit, timed. */
static int walk(pb_store *st, int n, double *lat, int *done, int total, pb_err *err)
{
	pb_promotion p;
	char comp[32];
	int r;

	memset(&p, 0, sizeof(p));
	snprintf(comp, sizeof(comp), "svc%d", n);
	pb_strlcpy(p.component, comp, sizeof(p.component));
	p.from_stage = 1;
	p.target_stage = 2;
	p.created_at = 1795597200;
	pb_strlcpy(p.requester, "U-bench", sizeof(p.requester));
	r = pb_store_promotion_insert(st, &p, err);
	for (size_t i = 0; r == 0 && i + 1 < CHAIN_LEN && *done < total; i++) {
		pb_event ev;
		int64_t t0 = mono_us();

		memset(&ev, 0, sizeof(ev));
		ev.promotion_id = p.id;
		pb_strlcpy(ev.component, comp, sizeof(ev.component));
		pb_strlcpy(ev.actor, "U-bench", sizeof(ev.actor));
		pb_strlcpy(ev.kind, "state", sizeof(ev.kind));
		pb_strlcpy(ev.from_state, pb_state_name(chain[i]), sizeof(ev.from_state));
		pb_strlcpy(ev.to_state, pb_state_name(chain[i + 1]), sizeof(ev.to_state));
		ev.at = p.created_at + (int64_t)i;
		r = pb_store_begin(st, err);
		if (r == 0)
			r = pb_store_promotion_set_state(st, p.id, chain[i], chain[i + 1], ev.at, err);
		if (r == 0)
			r = pb_store_event_append(st, &ev, err);
		if (r == 0)
			r = pb_store_commit(st, err);
		else
			pb_store_rollback(st);
		lat[(*done)++] = (double)(mono_us() - t0) / 1000.0;
	}
	return r;
}

int main(int argc, char **argv)
{
	const char *target = argc > 2 ? argv[2] : NULL;
	int total = DEFAULT_TX, done = 0;
	double *lat, secs, p50, p99;
	int64_t t0;
	pb_store *st = NULL;
	pb_err err;

	if (argc < 3) {
		fprintf(stderr, "usage: store_bench LABEL TARGET [TRANSACTIONS]\n");
		return 2;
	}
	if (argc > 3)
		total = atoi(argv[3]);
	if (total < 100)
		total = 100;
	lat = calloc((size_t)total, sizeof(*lat));
	pb_err_init(&err);
	if (!lat || pb_store_open(target, &st, &err)) {
		fprintf(stderr, "store_bench: %s\n", pb_err_text(&err));
		return 1;
	}
	t0 = mono_us();
	for (int n = 0; done < total; n++) {
		if (walk(st, n, lat, &done, total, &err)) {
			fprintf(stderr, "store_bench: %s\n", pb_err_text(&err));
			return 1;
		}
	}
	secs = (double)(mono_us() - t0) / 1e6;
	qsort(lat, (size_t)done, sizeof(*lat), cmp_double);
	p50 = lat[done / 2];
	p99 = lat[(size_t)done * 99 / 100];
	printf("%-8s %6d transactions (transition + audit event each) in %.2f s: %7.0f tx/s, p50 %.2f ms, p99 %.2f ms\n",
	       argv[1], done, secs, done / secs, p50, p99);
	pb_store_close(st);
	free(lat);
	return 0;
}
