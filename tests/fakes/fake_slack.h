/* fake_slack.h — a local Slack (Web API + Socket Mode) for tests, following PROTOCOLS.md. */
#ifndef FAKE_SLACK_H
#define FAKE_SLACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Two lws servers on 127.0.0.1 (ports kernel-chosen), each in its own thread, as
 * Slack's Web API and its Socket Mode links are different hosts: a burst of Web
 * API calls never delays an envelope or an ack on the socket.
 *   POST /api/apps.connections.open   Bearer <app token>  → {"ok":true,"url":"ws://…/link/?ticket=…"}
 *   POST /api/auth.test|chat.postMessage|chat.update|chat.postEphemeral  Bearer <bot token>
 *   POST /api/conversations.history|conversations.replies (form or JSON; include_all_metadata
 *        returns the metadata {event_type, event_payload} a chat.postMessage carried)
 * Auth failures are HTTP 200 ok:false (not_authed / invalid_auth /
 * not_allowed_token_type); JSON bodies are checked as Slack does
 * (channel_not_found, no_text, thread_not_found for a ts that is not a parent,
 * message_not_found, invalid_blocks for Block Kit limits); 429 + Retry-After
 * on demand. The socket says hello, carries injected envelopes and records
 * acks. Every Web API call is recorded. All functions are thread-safe.
 */
typedef struct fake_slack fake_slack;

typedef struct fake_slack_call {
	char method[48];
	long status;           /* HTTP status sent */
	bool ok;               /* the reply's ok */
	char error[64];        /* the reply's error when !ok */
	char ts[32];           /* ts issued (postMessage) / message_ts (ephemeral) */
	char *body;            /* request body as received (owned by the fake) */
	int64_t at_ms;         /* monotonic */
} fake_slack_call;

typedef struct fake_slack_ack {
	char envelope_id[128];
	int64_t sent_ms;       /* when the envelope went out (first time) */
	int64_t acked_ms;
	int64_t wire_us;       /* monotonic µs: the envelope's last byte handed to the socket (first time) */
	int64_t read_us;       /* monotonic µs: the ack read off the socket; read_us - wire_us is the
				* client's share of an ack's latency (socket both ways + its own work) */
	int conn;              /* connection serial the ack came on */
	char *payload;         /* JSON of "payload" if any, else NULL (copy, caller frees) */
} fake_slack_ack;

int fake_slack_start(const char *app_token, const char *bot_token, fake_slack **out);
/* The same over TLS (https:// API, wss:// socket) with this certificate and key (PEM files). */
int fake_slack_start_tls(const char *app_token, const char *bot_token, const char *cert_pem,
			 const char *key_pem, fake_slack **out);
/* Stops the server and frees everything. NULL-safe. */
void fake_slack_free(fake_slack *f);
/*
 * Makes room for `envelopes` more envelopes, acks, calls and messages now, so
 * a bench never times the fake's own array growth (a realloc and copy of
 * every record so far under the lock the socket thread needs).
 */
void fake_slack_reserve(fake_slack *f, size_t envelopes);
/* The Web API's port; the socket's is in the URL apps.connections.open returns. */
int fake_slack_port(const fake_slack *f);
/* "http://127.0.0.1:<port>/api/" */
const char *fake_slack_api_url(const fake_slack *f);
/* Channels chat.* accept (C0PROMO and C0OTHER are known from the start). */
void fake_slack_add_channel(fake_slack *f, const char *channel);

/* Kills both servers (every socket closes, nothing answers); restart brings them back on the same ports. */
void fake_slack_kill(fake_slack *f);
/* Freezes both server threads (a dead link: sockets open, no pongs, no replies) or thaws it. */
void fake_slack_freeze(fake_slack *f, bool frozen);
int fake_slack_restart(fake_slack *f);

/* Socket side. Connection serials count every hello the fake sent (1, 2 …). */
int fake_slack_hellos(fake_slack *f);
bool fake_slack_wait_hellos(fake_slack *f, int n, int timeout_ms);
int fake_slack_live_connections(fake_slack *f);
bool fake_slack_wait_live(fake_slack *f, int n, int timeout_ms);
/*
 * Which live connection an envelope goes to. Slack allows an app up to 10 Socket Mode
 * connections at once and hands each envelope to ONE of them (its choice); the hello's
 * num_connections counts the app's open ones.
 *   FAKE_SLACK_NEWEST       the newest live connection without a pending disconnect (else any live one); default
 *   FAKE_SLACK_ROUND_ROBIN  the next live connection without a pending disconnect, by serial, wrapping
 * fake_slack_set_target pins every envelope to one connection serial (0 = back to the mode);
 * while that connection is not live nothing is sent (-1). Redeliveries from a closed
 * connection follow the same choice (a dead target falls back to the newest).
 */
typedef enum fake_slack_dist {
	FAKE_SLACK_NEWEST = 0,
	FAKE_SLACK_ROUND_ROBIN,
} fake_slack_dist;
void fake_slack_set_distribution(fake_slack *f, fake_slack_dist dist);
void fake_slack_set_target(fake_slack *f, int serial);
/* Acks read off connection `serial` (duplicates included); envelopes whose last delivery went to it. */
size_t fake_slack_acks_on(fake_slack *f, int serial);
size_t fake_slack_envelopes_on(fake_slack *f, int serial);
/* Sends a text frame on the connection the distribution picks.
 * `chunk` > 0 splits it into fragments of that size.
 * Returns the connection serial, or -1 when none is live. */
int fake_slack_send_raw(fake_slack *f, const char *text, size_t chunk);
/* Envelope builders (they track the envelope for acks). */
int fake_slack_send_slash(fake_slack *f, const char *envelope_id, const char *user_id,
			  const char *channel, const char *text);
int fake_slack_send_action(fake_slack *f, const char *envelope_id, const char *user_id,
			   const char *channel, const char *message_ts, const char *action_id,
			   const char *value, const char *action_ts);
int fake_slack_send_mention(fake_slack *f, const char *envelope_id, const char *event_id,
			    const char *user_id, const char *channel, const char *text, int retry_attempt);
/* Sends {"type":"disconnect","reason":…} and closes that connection once a newer
 * one said hello, or after close_after_ms at the latest. */
int fake_slack_disconnect(fake_slack *f, const char *reason, int close_after_ms);
/* When a connection closes, envelopes sent on it and never acked are sent again
 * (same envelope_id) on a live connection, as Slack retries. Default on. */
void fake_slack_set_redeliver(fake_slack *f, bool on);

bool fake_slack_wait_ack(fake_slack *f, const char *envelope_id, int timeout_ms, fake_slack_ack *out);
size_t fake_slack_ack_count(fake_slack *f);          /* acks received, duplicates included */
size_t fake_slack_acked_envelopes(fake_slack *f);    /* distinct envelopes acked */
bool fake_slack_wait_acked_envelopes(fake_slack *f, size_t n, int timeout_ms);

/* Web API side. */
void fake_slack_rate_limit(fake_slack *f, const char *method, int count, int retry_after_s);
/* The next `count` calls of `method` are carried out (a post is posted) but the connection
 * closes before any reply byte: the client cannot know the outcome. */
void fake_slack_lose_replies(fake_slack *f, const char *method, int count);
size_t fake_slack_call_count(fake_slack *f, const char *method, bool ok_only);
bool fake_slack_wait_calls(fake_slack *f, const char *method, size_t n, int timeout_ms);
/* Copy of call #idx (0-based, counting only `method`; NULL = any); false if absent.
 * The copy's body is malloc'd: free it with fake_slack_call_deinit. */
bool fake_slack_call_get(fake_slack *f, const char *method, size_t idx, fake_slack_call *out);
void fake_slack_call_deinit(fake_slack_call *c);
/* Number of recorded calls of `method` whose body contains `needle`. */
size_t fake_slack_calls_matching(fake_slack *f, const char *method, const char *needle);
/* Waits until at least n recorded calls of `method` hold `needle` (false after timeout_ms). */
bool fake_slack_wait_matching(fake_slack *f, const char *method, const char *needle, size_t n, int timeout_ms);

#endif
