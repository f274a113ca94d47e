/* pb_monitor.h — the observation: scheduled checks of what was deployed, alerts, daily reports, the verdict. */
#ifndef PB_MONITOR_H
#define PB_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_config.h"
#include "pb_err.h"
#include "pb_services.h"
#include "pb_store.h"

/*
 * One pb_monitor per process, shared by the background workers (it is
 * thread-safe): it remembers, per observed promotion, which slot was planned
 * last, whether a check is running, and the objects a check reuses (the
 * probe's kept connection, the Docker client, the log scanner). Everything
 * that must survive a restart is in storage (samples, monitor state, the
 * observation outbox); this is only a cache.
 *
 * bot/scheduler.c calls pb_monitor_sweep every second on a background
 * worker; the sweep submits due checks (pb_monitor_check) back to the pool
 * through `submit`, records skipped slots, claims due daily reports and the
 * verdict, and delivers pending posts. Tests call the same functions with a
 * fake clock and a synchronous submit.
 */
typedef struct pb_monitor pb_monitor;

int pb_monitor_new(const pb_config *cfg, pb_monitor **out, pb_err *err);
void pb_monitor_free(pb_monitor *m);   /* NULL-safe; no check may be running */

/* Hands a check of (promotion, slot) to a worker: 0 accepted, non-zero refused (queue full). */
typedef int (*pb_monitor_submit_fn)(void *ud, int64_t promotion_id, int64_t slot);

typedef struct pb_monitor_sweep_stats {
	size_t observed;         /* observing promotions seen */
	size_t submitted;        /* checks handed out */
	size_t skipped;          /* slots recorded as skipped (a check still running) */
	size_t refused;          /* checks the pool refused: tried again at the next sweep (UNKNOWN once the next slot is due) */
	size_t reports;          /* daily reports claimed */
	size_t verdicts;
	size_t delivered;        /* posts the chat confirmed (marked delivered) */
	size_t interrupted;      /* deploys found under an expired lease, recorded failed */
	size_t unknown_filled;   /* slots nobody sampled (no leader ran) recorded UNKNOWN */
} pb_monitor_sweep_stats;

/* One pass at the services' clock. 0, or <0 on a storage failure (err). */
int pb_monitor_sweep(pb_monitor *m, const pb_services *svc, pb_monitor_submit_fn submit, void *ud,
		     pb_monitor_sweep_stats *stats, pb_err *err);

/*
 * Runs and records the check of `slot` for the promotion: container state,
 * probe, resources every stats_every checks, logs since the last read; the
 * sample, the new monitor state and any alert it decides in ONE transaction;
 * then delivers pending posts. Always clears the promotion's in-flight mark.
 * 0 (also when the slot was already recorded or the promotion left
 * observing), <0 on storage failure.
 */
int pb_monitor_check(pb_monitor *m, const pb_services *svc, int64_t promotion_id, int64_t slot, pb_err *err);

/*
 * Delivers the observation outbox, at least once and de-duplicated by id:
 * marks the confirmations the chat sent back (pb_acks.h) delivered, then
 * hands each pending post not already waiting for one to svc->system_sink,
 * oldest first, with its stable delivery id ("obs-<post>-<promotion>-<created>")
 * — after marking it handed, so a restart knows it may have been sent and
 * the chat looks for it by that id before sending it again. A post given
 * up by the chat is handed again after MON_RETRY_S, one never confirmed
 * after MON_CONFIRM_TIMEOUT_S. *delivered counts the posts marked now.
 */
#define MON_RETRY_S 60
#define MON_CONFIRM_TIMEOUT_S 900
int pb_monitor_deliver(pb_monitor *m, const pb_services *svc, size_t *delivered, pb_err *err);

/* ---- the threshold state machine (pure) ---- */
typedef enum { PB_ALERT_NONE = 0, PB_ALERT_DOWN, PB_ALERT_UP, PB_ALERT_REMIND } pb_alert_kind;
const char *pb_alert_kind_name(pb_alert_kind k);   /* "down", "up", "remind" */

/*
 * Applies sample s to the state: counts consecutive failures/successes,
 * DOWN after fail_threshold failures, UP after success_threshold successes
 * (only after a DOWN: the first successes just set the health), a reminder
 * every remind_every_min while down. UNKNOWN samples change nothing.
 * Updates last_* fields and checks. Returns the alert to post.
 */
pb_alert_kind pb_monitor_step(const pb_monitor_cfg *mc, pb_monitor_state *ms, const pb_sample *s);

/* ---- reading the observation ---- */

/* "day 3/7, uptime 99.98 %, last check 12 s ago: UP 4 ms" for status and the parent card. */
int pb_monitor_status_line(const pb_services *svc, const pb_promotion *p, char *out, size_t size, pb_err *err);

/*
 * The report of one local day of the promotion: `which` is NULL (today so
 * far), "1".."N" (Day N) or "YYYY-MM-DD". The stored report when it was
 * posted, else computed now. Appends to out. PB_E_INVALID / PB_E_NOTFOUND
 * with text for a day outside the observation.
 */
int pb_monitor_report_text(const pb_services *svc, const pb_promotion *p, const char *which, pb_buf *out,
			   pb_err *err);

/* The verdict over the whole observation so far (or to its end). 0, <0 storage. */
struct pb_obs_verdict;
int pb_monitor_verdict(const pb_services *svc, const pb_promotion *p, struct pb_obs_verdict *out, pb_err *err);

/*
 * The figures of every local day the promotion observed (Day 1 … today or
 * the last day): the stored daily rollup where the report was claimed, else
 * computed now from the samples (the last day of an observation completed
 * before its report was due has no rollup). Oldest first; caller frees *out.
 * 0 (count 0 before any observation), <0 storage.
 */
struct pb_obs_rollup;
int pb_monitor_day_figures(const pb_services *svc, const pb_promotion *p, struct pb_obs_rollup **out, size_t *count,
			   pb_err *err);

#endif
