/* scheduler.h — the observation on the bot's own clock: a sweep every tick on the background pool, checks as jobs. */
#ifndef PB_SCHEDULER_H
#define PB_SCHEDULER_H

#include "pb_err.h"
#include "pb_monitor.h"
#include "pb_services.h"
#include "workers.h"

/*
 * The loop thread calls pb_scheduler_tick every schedule.check_interval_s;
 * it submits one sweep (pb_monitor_sweep) to the background pool unless the
 * previous sweep still runs, and the sweep submits each due check as its own
 * job, so a slow probe never delays another component's check or a report.
 * A full pool is logged and counted by the sweep (the slot stays UNKNOWN).
 */
typedef struct pb_scheduler pb_scheduler;

/* svc_of: the services of a background worker's private state (NULL when it could not open them). */
int pb_scheduler_new(const pb_config *cfg, pb_workers *pool, const pb_services *(*svc_of)(void *state),
		     pb_scheduler **out, pb_err *err);
/* Any thread (the loop's timer): starts a sweep unless one runs. */
void pb_scheduler_tick(pb_scheduler *s);
/* After the pool was drained and freed. NULL-safe. */
void pb_scheduler_free(pb_scheduler *s);

#endif
