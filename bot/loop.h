/* loop.h — the one lws event loop of the bot: client vhosts, timers, hand-off from other threads, graceful stop. */
#ifndef PB_LOOP_H
#define PB_LOOP_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_err.h"

/*
 * One lws context serviced by one thread (the "loop thread": the thread
 * inside pb_loop_run; before run and after it returns, the owner thread that
 * will run / ran it counts as the loop thread). Clients (Slack Socket Mode,
 * the HTTP admin listener, schedulers) each create their own vhost on it and
 * their own timers; other threads reach the loop only through pb_loop_call,
 * pb_loop_stop and pb_loop_fail.
 *
 * lws broadcasts LWS_CALLBACK_EVENT_WAIT_CANCELLED to every protocol of every
 * vhost on each wake-up: a client that keeps mutex-protected state of its own
 * may check it there (the lws idiom) and wake the loop with
 * lws_cancel_service(pb_loop_context(l)); everything else uses pb_loop_call.
 */
typedef struct pb_loop pb_loop;

typedef struct pb_loop_cfg {
	size_t call_cap;          /* pb_loop_call queue bound; 0 = 1024 */
	unsigned stop_grace_ms;   /* longest wait for closers at stop; 0 = 5000 */
} pb_loop_cfg;

/* Creates the context (client TLS initialised, no default vhost). cfg may be NULL. 0 / <0. */
int pb_loop_new(const pb_loop_cfg *cfg, pb_loop **out, pb_err *err);
/* The lws context, for lws calls that need it (client connects, lws_get_random …). */
struct lws_context *pb_loop_context(pb_loop *l);
/*
 * Creates a client's vhost from `info` (a copy is used; TLS init is added to
 * its options). Use CONTEXT_PORT_NO_LISTEN for client-only vhosts. Pass the
 * client's object as info->user: its callbacks get it back with
 * lws_vhost_user(lws_get_vhost(wsi)). The client destroys it
 * (lws_vhost_destroy) before it frees that object, after closing its wsi.
 * Loop thread. NULL with err on failure.
 */
struct lws_vhost *pb_loop_vhost_new(pb_loop *l, const struct lws_context_creation_info *info,
				    pb_err *err);

/*
 * Services the loop on the calling thread until it is stopped and every
 * closer is done (or stop_grace_ms passed). Returns 0 after pb_loop_stop, the
 * first pb_loop_fail code with its text in err, or -EIO if lws failed. Once
 * per loop. Calls accepted before it returns all run before it returns.
 */
int pb_loop_run(pb_loop *l, pb_err *err);
/* Thread-safe (not async-signal-safe): starts a graceful stop. Idempotent. */
void pb_loop_stop(pb_loop *l);
/*
 * Thread-safe: stops the loop because of a permanent error; pb_loop_run then
 * returns `code` (non-zero) with this text. The first failure wins.
 */
void pb_loop_fail(pb_loop *l, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Thread-safe hand-off: fn(ud) runs once on the loop thread, calls in
 * submission order. Returns 0 (accepted: fn will run — by pb_loop_run, or by
 * pb_loop_free on the calling thread if the loop never ran them), PB_E_BUSY
 * (queue full; fn will not run, ud is still the caller's) or PB_E_REFUSED
 * (pb_loop_run has returned or is in its final drain; likewise). Accepted
 * calls are never dropped, so fn may own and free ud.
 */
int pb_loop_call(pb_loop *l, void (*fn)(void *ud), void *ud);
/* Calls queued and not yet run. Thread-safe. */
size_t pb_loop_pending_calls(pb_loop *l);

/* True on the thread currently inside pb_loop_run for l. */
bool pb_loop_on_thread(const pb_loop *l);
/*
 * Monotonic ms (pb_clock_mono_ms(NULL)) of the loop's last service
 * iteration; a 1 s heartbeat timer keeps it moving while idle. 0 before
 * pb_loop_run. Thread-safe: for /healthz ("the loop ticks").
 */
int64_t pb_loop_last_tick_ms(const pb_loop *l);

/* Destroys the context (after pb_loop_run returned, or if it never ran); runs leftover calls. NULL-safe. */
void pb_loop_free(pb_loop *l);

/* ---- closers: clients that need time to close at stop ---- */

/*
 * A client that closes gracefully (a websocket close handshake, a response
 * in flight) embeds a closer. At stop the loop calls close(c) on the loop
 * thread and keeps servicing until every closer called pb_loop_closer_done
 * (or the grace bound passed). Added while stopping: close runs at once.
 * Loop thread only; remove it before freeing its owner.
 */
typedef struct pb_loop_closer pb_loop_closer;
struct pb_loop_closer {
	void (*close)(pb_loop_closer *c);
	/* private */
	pb_loop *loop;
	pb_loop_closer *next;
	bool closing, done;
};

void pb_loop_closer_add(pb_loop *l, pb_loop_closer *c, void (*close)(pb_loop_closer *c));
/* The client has finished closing. Idempotent. */
void pb_loop_closer_done(pb_loop_closer *c);
/* Unregisters (counts as done). Idempotent; safe on a zeroed closer. */
void pb_loop_closer_remove(pb_loop_closer *c);

/* ---- timers: owned by their objects, loop thread only ---- */

typedef struct pb_timer pb_timer;
typedef void (*pb_timer_fn)(pb_timer *t);

/*
 * Embed one per pending action; get the owner back in fn with
 * lws_container_of(t, owner_type, member). fn runs on the loop thread, the
 * timer already disarmed, so fn may re-arm it (periodic work) or free the
 * owner. Cancel before the owner is freed. Timers run on real monotonic time.
 */
struct pb_timer {
	lws_sorted_usec_list_t sul;   /* first member: lws hands it back */
	pb_loop *loop;
	pb_timer_fn fn;
};

void pb_timer_init(pb_timer *t, pb_loop *loop, pb_timer_fn fn);
/* (Re)arms to fire once after delay_ms (clamped to >= 0); re-arming replaces the pending fire. */
void pb_timer_arm(pb_timer *t, int64_t delay_ms);
/* Disarms; idempotent, also on a zeroed or never-armed timer. */
void pb_timer_cancel(pb_timer *t);
bool pb_timer_armed(const pb_timer *t);

#endif
