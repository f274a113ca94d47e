/* slack_web.h — Slack Web API client: JSON POSTs with Bearer tokens, ok checks, 429 and pacing. */
#ifndef PB_SLACK_WEB_H
#define PB_SLACK_WEB_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "pb_err.h"
#include "pb_http.h"

/*
 * Per-channel pacing shared by every worker: each post to a channel takes
 * the next free slot (min_interval_ms apart) and waits for it, so a burst is
 * delayed in arrival order and never dropped. Thread-safe.
 */
typedef struct pb_slack_pacer pb_slack_pacer;

int pb_slack_pacer_new(long min_interval_ms, pb_slack_pacer **out);
void pb_slack_pacer_free(pb_slack_pacer *p);
/* Reserves the channel's next slot; returns how many ms to wait before sending. */
long pb_slack_pacer_reserve(pb_slack_pacer *p, const char *channel);
/* No post to `channel` before now + ms (a 429's Retry-After). */
void pb_slack_pacer_defer(pb_slack_pacer *p, const char *channel, long ms);
/* How many ms until the channel's next slot is free (0: now), without reserving it. */
long pb_slack_pacer_due_in(pb_slack_pacer *p, const char *channel);

/* One per thread: owns its HTTP handle; strings are borrowed and must outlive it. */
typedef struct pb_slack_web {
	pb_http *http;
	const char *api_url;     /* ends with '/' or not: both work */
	const char *token;       /* xoxb- for chat.*, xapp- for apps.connections.open */
	const char *ca_file;     /* optional */
	pb_slack_pacer *pacer;   /* optional */
	int max_429_retries;     /* default 10 */
	int transport_retries;   /* retries when Slack cannot be reached, default 2 */
	long timeout_ms;         /* default 15000 */
	/* At the first 429 defer the channel's pacer slot and return PB_E_BUSY instead of
	 * waiting: for a caller (the poster) that serves other channels meanwhile. */
	bool defer_429;
	/* Results of the last call: */
	long retry_after_ms;     /* the 429's Retry-After when it returned PB_E_BUSY */
	bool outcome_unknown;    /* a post failed after its bytes went out: Slack may have posted it */
} pb_slack_web;

int pb_slack_web_init(pb_slack_web *w, const char *api_url, const char *token,
		      const char *ca_file, pb_slack_pacer *pacer);
void pb_slack_web_deinit(pb_slack_web *w);

/*
 * POSTs `body` as JSON to {api_url}{method}. `pace_channel` (may be NULL)
 * takes a pacing slot first. HTTP 429 waits Retry-After and retries (or, with
 * defer_429, returns PB_E_BUSY). When Slack cannot be reached the call is
 * retried only if that cannot post twice: the request never left, or the
 * method is idempotent; otherwise outcome_unknown is set.
 * Returns 0 when Slack answered ok:true (*resp, if given, receives the parsed
 * reply; caller deletes it); PB_E_FAILED when ok:false (the error code goes
 * to `code` and err says "chat.postMessage: channel_not_found");
 * PB_E_UNAVAILABLE when Slack could not be reached or answered garbage.
 */
int pb_slack_web_call(pb_slack_web *w, const char *method, const cJSON *body,
		      const char *pace_channel, cJSON **resp, char *code, size_t code_size,
		      pb_err *err);

/*
 * The same as a form-encoded POST (how Slack's read methods such as
 * conversations.history take their arguments): kv is NULL-terminated
 * name/value pairs, percent-encoded here. Never paced.
 */
int pb_slack_web_form(pb_slack_web *w, const char *method, const char *const *kv, cJSON **resp,
		      char *code, size_t code_size, pb_err *err);

/*
 * apps.connections.open (w->token must be the xapp- token). Returns 0 with a
 * malloc'd WebSocket URL in *url; otherwise as pb_slack_web_call (check
 * pb_slack_error_is_permanent(code)).
 */
int pb_slack_connections_open(pb_slack_web *w, char **url, char *code, size_t code_size,
			      pb_err *err);

#endif
