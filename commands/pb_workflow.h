/* pb_workflow.h — the promotion state machine (DESIGN §6) and the helpers commands share. */
#ifndef PB_WORKFLOW_H
#define PB_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_cmd.h"

/* ---- state machine (pure data, no storage) ---- */

/* True when from → to is a legal edge. */
bool pb_workflow_allowed(pb_state from, pb_state to);
/* The user-facing verbs that can move a promotion out of `from` ("approve, reject, cancel"),
 * or "none (final state)" for terminal states. */
void pb_workflow_next_verbs(pb_state from, char *out, size_t size);

/* ---- helpers shared by command handlers (commands/cmd_util.c) ---- */

/* Looks up a configured component; PB_E_NOTFOUND naming the known ones. */
int pb_cmd_component(pb_cmd_ctx *ctx, const char *id, const pb_component **out);
/* The component's stage as stored (seeded from config on first use). */
int pb_cmd_component_stage(pb_cmd_ctx *ctx, const pb_component *c, pb_stage *out);
/* The same for read-only commands: the configured initial stage while none is stored; writes nothing. */
int pb_cmd_component_stage_read(pb_cmd_ctx *ctx, const pb_component *c, pb_stage *out);
/* The component's open promotion; PB_E_NOTFOUND with a hint to request one. */
int pb_cmd_open_promotion(pb_cmd_ctx *ctx, const pb_component *c, pb_promotion *out);

/* Both lookups above in one call: the usual start of a handler. */
int pb_cmd_lookup(pb_cmd_ctx *ctx, const char *id, const pb_component **c, pb_promotion *p);

/*
 * Moves p to `next` and appends its audit event in ONE transaction
 * (compare-and-swap on p->state). Illegal edges are refused with the reason
 * and the allowed next steps; PB_E_CONFLICT when someone else moved it.
 * On success p->state is updated.
 */
int pb_cmd_transition(pb_cmd_ctx *ctx, pb_promotion *p, pb_state next, const char *detail);
/* Same, inside a transaction the caller already opened (no begin/commit). */
int pb_cmd_transition_in_tx(pb_cmd_ctx *ctx, pb_promotion *p, pb_state next, const char *detail);
/* Refusal for a verb the current state does not allow (PB_E_REFUSED, text in ctx->err). */
int pb_cmd_refuse_state(pb_cmd_ctx *ctx, const pb_promotion *p, const char *verb);

/* Appends an audit event (inside or outside a transaction). */
int pb_cmd_audit(pb_cmd_ctx *ctx, int64_t promotion_id, const char *component,
		 const char *kind, const char *detail);

/* "neo4j → staging #3" */
void pb_cmd_thread_label(const pb_promotion *p, char *out, size_t size);
/* A new card bound to the promotion's thread (reply, team audience). Caller frees. */
pb_card *pb_cmd_thread_card(const pb_promotion *p, const char *title);
/* A card for news about a component: its open promotion's thread, else the caller. Caller frees. */
pb_card *pb_cmd_component_card(pb_cmd_ctx *ctx, const char *component, const char *title);
/* A new card for the caller only. Caller frees. */
pb_card *pb_cmd_caller_card(const char *title);
/* Emits a one-line caller-only message. */
void pb_cmd_say(pb_cmd_ctx *ctx, const char *title, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Emits the "Dry run" card: what the command would do, nothing changed. */
void pb_cmd_dry_run(pb_cmd_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Builds the promotion's live status card (parent of its thread). Caller frees. */
pb_card *pb_promotion_card(pb_cmd_ctx *ctx, const pb_promotion *p, pb_thread_role role);
/* Emits the refreshed parent card after a change (chat.update on Slack). */
void pb_cmd_emit_parent(pb_cmd_ctx *ctx, const pb_promotion *p);
/* Number of approvals bound to the promotion's current revision. */
int pb_cmd_approval_count(pb_cmd_ctx *ctx, const pb_promotion *p, size_t *count);
/*
 * "YYYY-MM-DD" of instant t in the time zone the team reads its reports in
 * (the monitoring timezone of the promotion's target environment, else the
 * global one; UTC when the zone cannot be loaded).
 */
void pb_cmd_local_date(const pb_services *svc, const pb_promotion *p, int64_t t, char *out, size_t size);
/*
 * The staging → production criterion "<observation_days>-day uptime in
 * staging ≥ <uptime_target> %", ticked from what is stored, never by hand:
 * met only when the component's latest completed staging promotion was
 * completed on a PASS verdict whose uptime (UNKNOWN counted as down) reaches
 * the target. `summary` is the checklist line with the figure or the reason.
 * Applies only to promotions targeting production (applies = false else).
 */
typedef struct pb_staging_uptime {
	bool applies;
	bool met;
	int64_t promotion_id;     /* the staging promotion read; 0 = none */
	double uptime_pct;        /* -1 when unknown */
	char summary[384];
} pb_staging_uptime;

/* 0, or <0 on a storage failure (err). */
int pb_cmd_staging_uptime(const pb_services *svc, const pb_promotion *p, pb_staging_uptime *out, pb_err *err);
/* Refuses (PB_E_REFUSED) `action` of a production promotion whose staging uptime criterion is unmet. */
int pb_cmd_refuse_if_staging_uptime_unmet(pb_cmd_ctx *ctx, const pb_promotion *p, const char *action);
/* Refuses (PB_E_REFUSED) when the component has an open critical blocker, naming it. */
int pb_cmd_refuse_if_critical(pb_cmd_ctx *ctx, const char *component, const char *action);

#endif
