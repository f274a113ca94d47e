/* slack_poster.h — the one outbound queue to Slack: per-channel order, pacing, 429s and unknown outcomes, off every lock. */
#ifndef PB_SLACK_POSTER_H
#define PB_SLACK_POSTER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lanes.h"
#include "pb_acks.h"
#include "pb_card.h"
#include "pb_clock.h"
#include "pb_config.h"
#include "pb_err.h"
#include "slack_envelope.h"

/*
 * Handlers never talk to Slack themselves: their sink turns each card into a
 * pb_post and submits it here while the handler still runs (so posts keep the
 * order the cards were emitted in), and the component lock is released as
 * soon as the handler's storage work is done. One poster thread delivers:
 *   - per channel in submission order (a channel's next post waits for the
 *     one before it), across channels by whichever is due first;
 *   - paced per channel (min_interval_ms), 429 → that channel waits its
 *     Retry-After while other channels go on;
 *   - a chat.postMessage whose outcome is unknown (timeout or reset after the
 *     request left) is looked up by its metadata id in the channel (or thread)
 *     before it is sent again, so it is never posted twice; so is a post an
 *     earlier process handed (pb_post_set_delivery: its id is stable);
 *   - a post that asks for it confirms its delivery (pb_acks.h) from here;
 *   - thread posts resolve the promotion's thread when they are delivered:
 *     an OPEN before them stored it.
 */
typedef enum pb_post_kind {
	PB_POST_EPHEMERAL, /* chat.postEphemeral to `user` in `channel` */
	PB_POST_CHANNEL,   /* chat.postMessage at the top of `channel` */
	PB_POST_OPEN,      /* top-level post whose ts becomes the promotion's thread */
	PB_POST_THREAD,    /* reply in the promotion's thread (opens one when it has none) */
	PB_POST_PARENT,    /* chat.update of the promotion's parent message (opens one when none) */
	PB_POST_UPDATE,    /* chat.update of `channel` + `ts` (a clicked message) */
} pb_post_kind;

typedef struct pb_post pb_post;

/*
 * A post of `body` (the message fields: text, blocks — owned from now on,
 * even on failure). `channel` is where it goes (for thread kinds: the
 * promotion's channel as known now). NULL on allocation failure (body freed).
 */
pb_post *pb_post_new(pb_post_kind kind, const char *channel, cJSON *body);
void pb_post_set_user(pb_post *p, const char *user);
void pb_post_set_ts(pb_post *p, const char *ts);
void pb_post_set_promotion(pb_post *p, int64_t promotion_id);
/*
 * A post whose delivery is confirmed to `acks` (pb_acks.h) under `id`, which
 * is also its metadata post_id from now on: ok with the message ts when
 * Slack answered ok (or the post was found by its id), not ok when it was
 * given up or dropped. handed_before (wall s, 0 = never): an earlier process
 * may have posted it — the channel (or thread) is searched for the id since
 * then before it is sent. False on a bad id (the post stays as it was).
 */
bool pb_post_set_delivery(pb_post *p, const char *id, int64_t handed_before, pb_acks *acks);
void pb_post_free(pb_post *p);

typedef struct pb_slack_poster pb_slack_poster;

/* The message fields of a card (text, blocks: slack_blocks.h); NULL on failure (logged). */
cJSON *pb_slack_card_body(const pb_card *c);

typedef struct pb_slack_poster_cfg {
	const pb_config *cfg;    /* its storage (storage_url) and slack.channel */
	const char *api_url;     /* borrowed, outlive the poster */
	const char *bot_token;
	const char *ca_file;
	long min_interval_ms;    /* per-channel pacing, e.g. 1000 */
	size_t capacity;         /* queued posts at most, e.g. 4096 */
	int max_attempts;        /* deliveries of one post before it is given up, default 6 */
	long timeout_ms;         /* per HTTP call, default 15000 */
	int nice;                /* the poster thread's nice (pb_thread_lower), 0 = unchanged */
	bool idle;               /* SCHED_IDLE instead (pb_thread_lower) */
	pb_lanes *lanes;         /* borrowed, may be NULL: a delivery's CPU work takes one of the command pool's lanes */
} pb_slack_poster_cfg;

typedef struct pb_slack_poster_stats {
	uint64_t posted;         /* Slack answered ok */
	uint64_t failed;         /* Slack refused (ok:false) or attempts ran out */
	uint64_t rate_limited;   /* 429s seen */
	uint64_t dropped;        /* refused at submit: queue full or stopping */
	uint64_t recovered;      /* unknown outcomes found already posted (not sent again) */
	uint64_t thread_waits;   /* a card looked for a thread another replica claimed and waited */
	size_t queued;
} pb_slack_poster_stats;

int pb_slack_poster_new(const pb_slack_poster_cfg *cfg, pb_slack_poster **out, pb_err *err);
/* Queues a post; always takes it. PB_E_BUSY: queue full or stopping — dropped, logged and counted. */
int pb_slack_poster_submit(pb_slack_poster *p, pb_post *post);
/* Waits until nothing is queued or in flight; false when timeout_ms passed first. */
bool pb_slack_poster_wait_idle(pb_slack_poster *p, int timeout_ms);
/*
 * Queues `body` (owned, NULL = nothing to post) as a post of `kind`; `c` is
 * the card it came from (NULL for clicks): a delivery confirmation it asks
 * for goes with the post — and one lost before it is queued is reported
 * not delivered at once. ts: the message a PB_POST_UPDATE replaces.
 */
void pb_slack_poster_submit_card(pb_slack_poster *p, const pb_card *c, pb_post_kind kind, const char *channel,
				 cJSON *body, int64_t promotion_id, const char *user, const char *ts);

/*
 * The system sink: cards no chat message asked for. Nobody to answer
 * privately, so caller cards go to the channel; thread cards find the
 * promotion's thread when the poster delivers them. Confirms deliveries
 * from the poster thread (pb_sink.confirms).
 */
typedef struct pb_slack_system_sink {
	pb_sink sink;
	pb_slack_poster *poster;
	const pb_config *cfg;
} pb_slack_system_sink;
void pb_slack_system_sink_init(pb_slack_system_sink *s, pb_slack_poster *p, const pb_config *cfg);
void pb_slack_poster_stats_get(pb_slack_poster *p, pb_slack_poster_stats *out);
/* Delivers what is queued for up to drain_ms, drops (and logs) the rest, stops. NULL-safe. */
void pb_slack_poster_free(pb_slack_poster *p, int drain_ms);

#endif
