/* probe.h — the liveness probe of an observed component: one timed answer per check, a connection kept between checks. */
#ifndef PB_PROBE_H
#define PB_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "pb_config.h"
#include "pb_err.h"

/*
 * What the observation asks every interval, as cheaply as the component
 * allows and never through the container (no `docker exec`): neo4j a
 * `RETURN 1` through the HTTP transactional API on a kept-alive connection
 * (not the deploy validation's write/read/delete probe), http a GET with the
 * expected status, tcp a connect. One pb_probe per observed promotion, used
 * by one thread at a time.
 */
typedef struct pb_probe pb_probe;

typedef enum {
	PB_PROBE_UP = 0,
	PB_PROBE_TIMEOUT,     /* no answer within the deadline */
	PB_PROBE_ERROR,       /* refused connection, wrong status, wrong answer */
	PB_PROBE_AUTH,        /* credentials refused */
	PB_PROBE_NONE,        /* the component has no probe configured */
} pb_probe_result;

/* PB_E_INVALID with text for an unusable config; the password is read once (never logged). */
int pb_probe_new(const pb_health_cfg *cfg, int deadline_ms, pb_probe **out, pb_err *err);
void pb_probe_free(pb_probe *p);
/* Runs the probe once; *latency_us is its round trip (-1 unless UP). detail says why when not UP. */
pb_probe_result pb_probe_run(pb_probe *p, int32_t *latency_us, char *detail, size_t size);

#endif
