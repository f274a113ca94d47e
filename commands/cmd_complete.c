/* cmd_complete.c — /promote complete <component> [override-reason]: after a PASS verdict, the stage is reached. */
#include "pb_file.h"
#include "pb_log.h"
#include "pb_maturity.h"
#include "pb_ghbody.h"
#include "pb_ghout.h"
#include "pb_monitor.h"
#include "pb_obs.h"
#include "pb_workflow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MATURITY_MAX_BYTES (1024 * 1024) /* a MATURITY.md larger than this is not one */

/*
 * Completion needs the observation's PASS. An admin may complete anyway
 * with a reason: the override and the verdict it overrode go into the
 * audit trail (and so into the lessons and the report's actions).
 */
static int check_verdict(pb_cmd_ctx *ctx, const pb_promotion *p, const char *reason, char *detail, size_t size)
{
	pb_obs_verdict v;
	int r = pb_monitor_verdict(ctx->svc, p, &v, &ctx->err);

	if (r)
		return r;
	if (v.kind == PB_VERDICT_PASS) {
		char summary[PB_TEXT_MAX - 16];

		/* "observation <summary>": the staging → production criterion reads it back (pb_obs_verdict_summary_parse) */
		pb_obs_verdict_summary(&v, summary, sizeof(summary));
		snprintf(detail, size, "observation %s", summary);
		return reason ? pb_err_set(&ctx->err, PB_E_REFUSED, "the verdict is PASS: complete needs no override")
			      : 0;
	}
	if (!reason)
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "the observation verdict of %s is %s (%s): completing needs a PASS, or an admin's "
				  "/promote complete %s <reason>",
				  p->component, pb_verdict_name(v.kind), v.reasons[0] ? v.reasons : "no reason", p->component);
	if (!(ctx->caller.roles & PB_ROLE_ADMIN))
		return pb_err_set(&ctx->err, PB_E_REFUSED, "only an admin may override a %s verdict",
				  pb_verdict_name(v.kind));
	snprintf(detail, size, "override of %s (%s) by %s: %s", pb_verdict_name(v.kind), v.reasons, ctx->caller.name,
		 reason);
	return 0;
}

static int check_observation(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	int64_t ends = p->observing_since + (int64_t)ctx->svc->cfg->policy.observation_days * 86400;
	char when[64];

	if (p->state != PB_ST_OBSERVING)
		return pb_cmd_refuse_state(ctx, p, "complete");
	if (pb_services_now(ctx->svc) < ends) {
		pb_time_fmt(ends, when, sizeof(when));
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "the %d-day observation period of %s ends %s; complete it then",
				  ctx->svc->cfg->policy.observation_days, p->component, when);
	}
	return pb_cmd_refuse_if_critical(ctx, p->component, "completing");
}

/*
 * Step 11 on the local maturity_file. Order, and why: everything that can
 * fail on the file (read, edit, writing the new text to a temp file beside
 * it) happens BEFORE the completion's transaction; the rename that publishes
 * it happens AFTER the commit. So the file never says "Staging" for a
 * promotion that did not complete (a failed commit discards the temp file),
 * and a file problem never holds back a completion the verdict allows: the
 * stored transition is the fact, the file is its record. A problem found
 * before the commit is recorded as an audit event inside the completion's
 * transaction; the rename failing afterwards (rare: same folder) gets its own
 * event. Both are said in the reply with the lines to set by hand.
 */
typedef struct maturity_step {
	bool configured;         /* the component has a maturity_file */
	bool changed;            /* the edit changes the file (false: already up to date) */
	pb_file_stage file;      /* staged new text when changed */
	char line[512];          /* the history line */
	char stage_line[256];    /* the Current Stage line */
	char problem[PB_ERR_MSG_MAX]; /* why it is not updated; "" when fine */
} maturity_step;

static void maturity_prepare(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, bool stage_it,
			     maturity_step *m)
{
	char date[16], ref[48];
	pb_maturity_update u;
	pb_buf text, edited;
	pb_err e;
	int r;

	memset(m, 0, sizeof(*m));
	if (!c->maturity_path)
		return;
	m->configured = true;
	pb_cmd_local_date(ctx->svc, p, pb_services_now(ctx->svc), date, sizeof(date));
	if (p->issue_number > 0)
		snprintf(ref, sizeof(ref), "Issue #%lld", (long long)p->issue_number);
	else
		snprintf(ref, sizeof(ref), "Promotion #%lld", (long long)p->id);
	u = (pb_maturity_update){ .stage = pb_stage_title((pb_stage)p->target_stage),
				  .from = pb_stage_title((pb_stage)p->from_stage), .date = date, .ref = ref };
	pb_maturity_history_line(&u, m->line, sizeof(m->line));
	snprintf(m->stage_line, sizeof(m->stage_line), "**Current Stage**: %s (promoted from %s on %s)", u.stage,
		 u.from, u.date);
	pb_buf_init(&text);
	pb_buf_init(&edited);
	pb_err_init(&e);
	r = pb_file_read(c->maturity_path, MATURITY_MAX_BYTES, &text, &e);
	if (r == 0 && pb_maturity_apply(pb_buf_str(&text), text.len, &u, &edited, &m->changed))
		r = pb_err_set(&e, -ENOMEM, "out of memory editing %s", c->maturity_path);
	if (r == 0 && m->changed && stage_it)
		r = pb_file_stage_write(&m->file, c->maturity_path, pb_buf_str(&edited), edited.len, &e);
	if (r)
		pb_strlcpy(m->problem, pb_err_text(&e), sizeof(m->problem));
	pb_buf_deinit(&text);
	pb_buf_deinit(&edited);
}

/* After the commit: publish the staged file; a failure is logged and audited. */
static void maturity_publish(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, maturity_step *m)
{
	char detail[PB_TEXT_MAX];
	pb_err e;

	pb_err_init(&e);
	if (m->problem[0] || !m->changed)
		return;
	if (pb_file_stage_commit(&m->file, &e) != 0) {
		pb_strlcpy(m->problem, pb_err_text(&e), sizeof(m->problem));
		pb_error("complete", "%s: MATURITY.md not updated after the completion committed: %s", c->id, m->problem);
		if (pb_cmd_audit(ctx, p->id, c->id, "maturity.failed", m->problem))
			pb_error("complete", "%s: recording the MATURITY.md failure: %s", c->id, pb_err_text(&ctx->err));
		return;
	}
	snprintf(detail, sizeof(detail), "%s: %s", c->maturity_path, m->line);
	if (pb_cmd_audit(ctx, p->id, c->id, "maturity.updated", detail))
		pb_warn("complete", "%s: MATURITY.md updated, its audit event was not recorded: %s", c->id,
			pb_err_text(&ctx->err));
}

static void maturity_report(pb_card *card, const pb_component *c, const maturity_step *m, bool dry_run)
{
	if (!m->configured)
		pb_card_field(card, "MATURITY.md", "no maturity_file configured for %s: nothing to update", c->id);
	else if (m->problem[0])
		pb_card_field(card, "MATURITY.md", "⚠️ NOT updated: %s. Set by hand in %s: \"%s\" and, under "
			      "## Promotion History, \"%s\"", m->problem, c->maturity_path, m->stage_line, m->line);
	else if (!m->changed)
		pb_card_field(card, "MATURITY.md", "already up to date (%s)", c->maturity_path);
	else
		pb_card_field(card, "MATURITY.md", "%s: %s; history: %s", dry_run ? "would update" : "updated",
			      m->stage_line, m->line);
}

/*
 * On GitHub, in this order in the promotion's group: MATURITY.md and the
 * Project item (before the transition's label change), then, after it,
 * promotion:completed (the transition), the summary comment and the close.
 */
static int mirror_before(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	char date[16];

	if (!pb_ghout_wanted(ctx->svc, p->component))
		return 0;
	pb_cmd_local_date(ctx->svc, p, pb_services_now(ctx->svc), date, sizeof(date));
	return pb_ghout_completion(ctx->svc, p, date, &ctx->err);
}

static int mirror_after(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, const char *detail)
{
	const pb_ghlabels_step *step = pb_ghlabels_for(PB_ST_OBSERVING, PB_ST_COMPLETED);
	char lead[512];
	int r;

	if (!pb_ghout_wanted(ctx->svc, p->component))
		return 0;
	snprintf(lead, sizeof(lead), "🏁 **Promotion completed**: %s is now at %s (completed by %s)", c->name,
		 pb_stage_title((pb_stage)p->target_stage), ctx->caller.name);
	r = pb_ghout_comment_text(ctx->svc, p, lead, detail, &ctx->err);
	return r ? r : pb_ghout_close(ctx->svc, p, step && step->close_reason ? step->close_reason : "completed", &ctx->err);
}

int pb_cmd_complete(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const char *reason = argc > 2 ? argv[2] : NULL;
	const pb_component *c;
	char detail[PB_TEXT_MAX] = "";
	maturity_step mat;
	pb_promotion p;
	pb_card *card;
	int r;

	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (!r)
		r = check_observation(ctx, &p);
	if (!r)
		r = check_verdict(ctx, &p, reason, detail, sizeof(detail));
	if (r)
		return r;
	maturity_prepare(ctx, c, &p, !ctx->dry_run, &mat);
	if (ctx->dry_run) {
		pb_card *dry = pb_cmd_caller_card("Dry run — nothing was changed");

		pb_card_text(dry, "would complete the promotion and record %s at %s", c->id,
			     pb_stage_title(p.target_stage));
		maturity_report(dry, c, &mat, true);
		pb_sink_emit(ctx->sink, dry);
		pb_card_free(dry);
		return 0;
	}
	if (mat.problem[0])
		pb_error("complete", "%s: MATURITY.md will not be updated: %s", c->id, mat.problem);
	/* the stage change, the transition and a known file problem are one fact: one transaction */
	r = pb_store_begin(ctx->svc->store, &ctx->err);
	if (!r)
		r = mirror_before(ctx, &p);
	if (!r)
		r = pb_cmd_transition_in_tx(ctx, &p, PB_ST_COMPLETED, detail);
	if (!r)
		r = mirror_after(ctx, c, &p, detail);
	if (!r && reason)
		r = pb_cmd_audit(ctx, p.id, c->id, "override", detail);
	if (!r && mat.problem[0])
		r = pb_cmd_audit(ctx, p.id, c->id, "maturity.failed", mat.problem);
	if (!r)
		r = pb_store_component_set_stage(ctx->svc->store, c->id, p.target_stage,
						 pb_services_now(ctx->svc), &ctx->err);
	if (!r)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		pb_file_stage_discard(&mat.file);
		return r;
	}
	maturity_publish(ctx, c, &p, &mat);
	card = pb_cmd_thread_card(&p, "🏁 Promotion completed");
	pb_card_text(card, "%s is now at %s (completed by %s; %s).", c->name, pb_stage_title(p.target_stage),
		     ctx->caller.name, detail);
	maturity_report(card, c, &mat, false);
	pb_card_field(card, "Next", "/promote lessons %s drafts the lessons-learned document", c->id);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return 0;
}
