/* slack_socket.h — the Socket Mode connection as a client of the shared loop: open, ack, refresh, reconnect. */
#ifndef PB_SLACK_SOCKET_H
#define PB_SLACK_SOCKET_H

#include <stdbool.h>

#include "loop.h"
#include "pb_err.h"
#include "pb_metrics.h"
#include "slack_envelope.h"

typedef struct pb_slack_loop pb_slack_loop;

typedef struct pb_slack_loop_cfg {
	pb_loop *loop;           /* the shared loop, borrowed; outlives the Slack client */
	const char *api_url;
	const char *app_token;   /* xapp- token, borrowed */
	const char *ca_file;     /* optional */
	unsigned ping_s;         /* RFC 6455 ping after this much silence, default 5 */
	unsigned idle_s;         /* no valid traffic for this long → reconnect, default 30 */
	/* Called on the loop thread: true when one more job can be accepted beyond
	 * the `held` ones already acked and waiting for their ack to be written. */
	bool (*has_room)(void *ud, size_t held);
	/* Called on the loop thread once the envelope's ack is on the socket (not
	 * before: a worker woken by the job must not take the CPU the ack needs)
	 * with the envelope's frame as received (NUL-terminated, `len` bytes, not
	 * parsed beyond its head: the job parses it with pb_slack_msg_parse, off
	 * the loop); takes ownership of `frame`. An envelope whose connection is
	 * lost before its ack was written is never submitted: unacked, Slack
	 * delivers it again. */
	void (*submit)(void *ud, char *frame, size_t len);
	/* Optional, loop thread: the queue was full and the envelope cannot carry a
	 * reply (buttons, mentions): tell the user some other way. m stays the caller's. */
	void (*busy)(void *ud, const pb_slack_msg *m);
	void *ud;
	const pb_metrics_promobot *metrics; /* optional: ack latency, reconnects */
} pb_slack_loop_cfg;

/* Text of the ack payload a slash command gets when the queue is full. */
#define PB_SLACK_BUSY_TEXT "promobot is busy right now; please try again in a minute."

/*
 * Creates the Slack client on cfg->loop (loop thread, or its owner before
 * pb_loop_run) and starts connecting; the callbacks then run on the loop
 * thread. It closes gracefully when the loop stops (bounded, 2 s). A
 * permanent Slack error (token refused, Socket Mode disabled) stops the loop
 * through pb_loop_fail: pb_loop_run returns PB_E_FAILED naming the cause.
 */
int pb_slack_loop_new(const pb_slack_loop_cfg *cfg, pb_slack_loop **out, pb_err *err);
/* After pb_loop_run returned (or if it never ran), before pb_loop_free. NULL-safe. */
void pb_slack_loop_free(pb_slack_loop *l);

#endif
