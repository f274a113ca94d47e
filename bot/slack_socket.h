/* slack_socket.h — the Socket Mode connection on the lws loop thread: open, ack, refresh, reconnect. */
#ifndef PB_SLACK_SOCKET_H
#define PB_SLACK_SOCKET_H

#include <stdbool.h>

#include "pb_err.h"
#include "slack_envelope.h"

typedef struct pb_slack_loop pb_slack_loop;

typedef struct pb_slack_loop_cfg {
	const char *api_url;
	const char *app_token;   /* xapp- token, borrowed */
	const char *ca_file;     /* optional */
	unsigned ping_s;         /* RFC 6455 ping after this much silence, default 5 */
	unsigned idle_s;         /* no valid traffic for this long → reconnect, default 30 */
	/* Called on the loop thread: true when a job can be accepted right now. */
	bool (*has_room)(void *ud);
	/* Called on the loop thread after the envelope's ack was queued; takes
	 * ownership of m's allocations (the struct itself is the caller's). */
	void (*submit)(void *ud, pb_slack_msg *m);
	/* Optional, loop thread: the queue was full and the envelope cannot carry a
	 * reply (buttons, mentions): tell the user some other way. m stays the caller's. */
	void (*busy)(void *ud, const pb_slack_msg *m);
	void *ud;
} pb_slack_loop_cfg;

/* Text of the ack payload a slash command gets when the queue is full. */
#define PB_SLACK_BUSY_TEXT "promobot is busy right now; please try again in a minute."

int pb_slack_loop_new(const pb_slack_loop_cfg *cfg, pb_slack_loop **out, pb_err *err);
/*
 * Runs the loop on the calling thread until pb_slack_loop_stop() (returns 0)
 * or a permanent Slack error (returns PB_E_FAILED with err naming the cause).
 */
int pb_slack_loop_run(pb_slack_loop *l, pb_err *err);
/* Thread-safe (not async-signal-safe): asks the loop to close and return. */
void pb_slack_loop_stop(pb_slack_loop *l);
void pb_slack_loop_free(pb_slack_loop *l);

#endif
