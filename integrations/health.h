/* health.h — pluggable post-deploy checks (neo4j, http GET, tcp connect) with step-by-step evidence. */
#ifndef PB_HEALTH_H
#define PB_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_config.h"
#include "pb_err.h"

#define PB_HEALTH_MAX_STEPS 12

typedef struct pb_health_step {
	char name[48];             /* "discovery", "RETURN 1", "probe write" … */
	bool ok;
	char detail[300];          /* evidence or the failure */
} pb_health_step;

typedef struct pb_health_report {
	bool ok;
	pb_health_step steps[PB_HEALTH_MAX_STEPS];
	size_t nsteps;
	char version[64];          /* neo4j: server version */
	int queries;               /* timed queries run */
	double p50_ms, p95_ms, max_ms;
	char cause[400];           /* "" when ok */
} pb_health_report;

/*
 * Runs the component's configured check (cfg->kind). The first contact is
 * retried until it answers or `wait_ms` elapses (a service listens a moment
 * after its container is running); every later step runs once. Returns 0 when
 * every step passed, PB_E_FAILED with rep->cause and err set otherwise,
 * PB_E_INVALID for an unusable config, <0 on allocation failure.
 */
int pb_health_run(const pb_health_cfg *cfg, long wait_ms, pb_health_report *rep, pb_err *err);

/* One TCP connect to host:port within timeout_ms: 0, or -1 with the reason in why. */
int pb_health_tcp_connect(const char *host, int port, int timeout_ms, char *why, size_t wsize);

/* Nearest-rank percentile (0 < p <= 100) of n values; sorts v in place. 0 when n == 0. */
double pb_health_percentile(double *v, size_t n, double p);

#endif
