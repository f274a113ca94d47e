/* pb_ghout.h — the GitHub mirror of every step: ops enqueued with the state change, delivered in order. */
#ifndef PB_GHOUT_H
#define PB_GHOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_err.h"
#include "pb_services.h"
#include "pb_store.h"
#include "pb_str.h"

/*
 * Enqueue side (commands/gh_enqueue.c). Every function is called INSIDE the
 * caller's transaction (pb_store_begin … commit), right next to the state
 * change it mirrors, so the side effect is decided with it or not at all.
 * Each is a no-op returning 0 when GitHub is not configured or the component
 * has no github_repo. What is written on GitHub (titles, bodies, labels) is
 * decided here and stored as the op's payload.
 *
 * Ordering: ops about a promotion (its issue, its labels, comments,
 * deployments, completion) share the group "promotion:<id>"; a blocker's
 * issue has its own group "blocker:<id>" (a blocker outlives promotions).
 */
/* True when steps of `component` are mirrored on GitHub. */
bool pb_ghout_wanted(const pb_services *svc, const char *component);
/* request: opens the promotion issue (labels promotion:requested, component:<id>, target:<stage>). */
int pb_ghout_promotion_opened(const pb_services *svc, const pb_promotion *p, pb_err *err);
/*
 * Every transition (pb_cmd_transition_in_tx): the label changes of
 * pb_ghlabels_for(from, to), a comment when the step says so (failed,
 * rolled back), the close of a cancel (not_planned) and the deployment
 * statuses of deploy (in_progress, success, failure, inactive). A completion's close
 * is enqueued by complete itself, after its summary comment.
 */
int pb_ghout_transition(const pb_services *svc, const pb_promotion *p, pb_state from, pb_state to,
			const char *actor, const char *detail, pb_err *err);
/* A comment on the promotion issue (`text` is Markdown the caller built; user text escaped by the caller). */
int pb_ghout_comment(const pb_services *svc, const pb_promotion *p, const char *text, pb_err *err);
/*
 * The lessons-learned draft committed as `name` next to the component's
 * github_maturity_path (nothing when it has none): created, or updated with
 * the file's sha; a repeat finds the same text and commits nothing.
 */
int pb_ghout_lessons_file(const pb_services *svc, const pb_promotion *p, const char *name, const char *text,
			  pb_err *err);
/* Same, "<lead>: <user_text>" with user_text Markdown-escaped (user_text may be NULL or ""). */
int pb_ghout_comment_text(const pb_services *svc, const pb_promotion *p, const char *lead, const char *user_text,
			  pb_err *err);
/* Rewrites the promotion issue's body from what is stored now (validate: criteria ticked). */
int pb_ghout_body_refresh(const pb_services *svc, const pb_promotion *p, pb_err *err);
/* Closes the promotion issue with state_reason "completed" | "not_planned". */
int pb_ghout_close(const pb_services *svc, const pb_promotion *p, const char *reason, pb_err *err);
/* block: the blocker issue (+ a comment on `p`'s issue linking it when p != NULL). */
int pb_ghout_blocker_opened(const pb_services *svc, const pb_blocker *b, const pb_promotion *p, pb_err *err);
/* unblock: a comment on the blocker issue and its close (completed). */
int pb_ghout_blocker_resolved(const pb_services *svc, const pb_blocker *b, const char *actor, pb_err *err);
/*
 * deploy: a GitHub Deployment of p->revision to the target stage's
 * environment, then in_progress; pb_ghout_transition calls these on
 * deploying / observing / failed / rolled_back (deployment_id = p->id: one
 * deployment per promotion).
 */
int pb_ghout_deployment(const pb_services *svc, const pb_promotion *p, int64_t deployment_id, pb_err *err);
/* A status of that deployment: success | failure | inactive (log_url may be NULL). */
int pb_ghout_deployment_status(const pb_services *svc, const pb_promotion *p, int64_t deployment_id,
			       const char *state, const char *description, pb_err *err);
/* complete: MATURITY.md, the Project item, then (after the caller's transition) comment + close. */
int pb_ghout_completion(const pb_services *svc, const pb_promotion *p, const char *date, pb_err *err);

/*
 * Delivery (commands/gh_deliver.c): hands the head op of every due group to
 * GitHub, round after round while heads become due, at most max_ops (0 = 256).
 * PB_E_UNAVAILABLE (5xx, 429/403 rate limits, timeouts, HTML pages) is
 * retried with exponential backoff + jitter on the services' clock; a
 * permanent error (404, 403 without permission, 422) marks the op failed, is
 * audited and told in the promotion's thread, and the group moves on (a
 * later op that needs what the failed one would have created fails with that
 * reason instead of stalling the group forever). An attempt that may have
 * reached GitHub (pb_github_maybe_sent, or a crash) is looked up before it is
 * repeated: bodies and comments carry `<!-- promobot:op=<id> -->`, a
 * deployment's payload {"promobot_op": id}.
 * Needs svc->github (returns 0 doing nothing without it). Safe to run from
 * several processes at once: each op is leased before it is sent.
 */
typedef struct pb_ghout_stats {
	size_t delivered;
	size_t retried;
	size_t failed;
	size_t pending;          /* after the run, every group */
} pb_ghout_stats;
int pb_ghout_deliver(const pb_services *svc, size_t max_ops, pb_ghout_stats *stats, pb_err *err);
/* The marker a body or comment of op `id` carries. */
void pb_ghout_marker(int64_t id, char *out, size_t size);

/*
 * A replica that just took the scheduler lease over from `prev` (another
 * process's owner token, found expired) releases the ops that process had
 * claimed: they are held only until prev's lease expiry + github.timeout_ms
 * (+1 s, the column's granularity) and marked maybe_sent, instead of until
 * their own claim ran out (4 × github.timeout_ms, at least 60 s). `own` is the
 * caller's token: nothing is released when prev is this very process.
 * *released (may be NULL) gets how many ops moved; *hold_until their new end.
 */
int pb_ghout_takeover(pb_store *st, const pb_config *cfg, const pb_lease *prev, const char *own, size_t *released,
		      int64_t *hold_until, pb_err *err);

/*
 * `promobot exec`: delivers until every op with id > after_id is done or
 * failed, or bound_ms (on the services' clock) passed, sleeping until the next
 * retry in between. 0 when all went out; PB_E_BUSY with err saying how many
 * are still pending and why (they stay queued for the bot).
 */
int pb_ghout_wait(const pb_services *svc, int64_t after_id, int64_t bound_ms, pb_err *err);

/*
 * The card/status line: "GitHub: #12 https://…" plus "3 updates pending
 * (502, retrying)" and "1 update failed: …" when there are some. Appends
 * nothing when the promotion is not mirrored. 0 or <0 (storage, err).
 */
int pb_ghout_describe(const pb_services *svc, const pb_promotion *p, pb_buf *out, pb_err *err);

#endif
