/* runtime.h — what every adapter runs on: the loop, the background pool, scheduled jobs, health, metrics, /healthz. */
#ifndef PB_RUNTIME_H
#define PB_RUNTIME_H

#include <stdbool.h>

#include "loop.h"
#include "pb_card.h"
#include "pb_config.h"
#include "pb_err.h"
#include "pb_metrics.h"
#include "workers.h"

/*
 * The bot acting on its own clock. An adapter (Slack, console) creates a
 * runtime, adds its own clients to pb_runtime_loop(), sets its system sink,
 * starts it and runs the loop on its main thread:
 *
 *   - a background pool (its own workers and services) for scheduled work,
 *     so a slow job never delays a command reply, and commands never delay it;
 *     a full queue drops the job with a log line and promobot_jobs_dropped_total;
 *   - timers: the storage health probe (a heartbeat write every
 *     schedule.probe_interval_s) and the observation sweep (every
 *     schedule.check_interval_s, bot/scheduler.c: due checks, alerts,
 *     daily reports, the verdict);
 *   - a 1 s tick that refreshes queue-depth gauges and the adapter's own hook;
 *   - the admin listener on http.listen: /healthz (loop ticking and storage
 *     answering a write within http.health_write_s) and /metrics.
 */
typedef struct pb_runtime pb_runtime;

/* `kind` names the process in lock owners and logs ("slack", "console"). */
int pb_runtime_new(const pb_config *cfg, const char *kind, pb_runtime **out, pb_err *err);
pb_loop *pb_runtime_loop(pb_runtime *rt);
pb_metrics *pb_runtime_registry(pb_runtime *rt);
const pb_metrics_promobot *pb_runtime_metrics(pb_runtime *rt);
/* Where background jobs post (must be thread-safe); set before start. */
void pb_runtime_set_system_sink(pb_runtime *rt, pb_sink *sink);
/* A pool whose depth /metrics shows as promobot_queue_depth{pool=name}; before start. */
void pb_runtime_watch_pool(pb_runtime *rt, const char *name, pb_workers *pool);
/* Called on the loop thread every tick (1 s): an adapter copies its own figures into metrics. */
void pb_runtime_on_tick(pb_runtime *rt, void (*fn)(void *ud), void *ud);
/* Starts the background pool, the admin listener and the timers (owner thread, before run). */
int pb_runtime_start(pb_runtime *rt, pb_err *err);
/* The admin listener's bound port, 0 when http.listen is off. */
int pb_runtime_admin_port(const pb_runtime *rt);
/* True while this replica holds the scheduler lease (README "Running more than one replica"). */
bool pb_runtime_is_leader(pb_runtime *rt);
/* Runs the loop until pb_runtime_stop (0) or a client's permanent failure. */
int pb_runtime_run(pb_runtime *rt, pb_err *err);
/* Thread-safe. */
void pb_runtime_stop(pb_runtime *rt);
/* After run returned: cancels timers, closes the listener, drains the background pool. NULL-safe. */
void pb_runtime_free(pb_runtime *rt);

#endif
