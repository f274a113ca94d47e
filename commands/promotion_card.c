/* promotion_card.c — the live status card that heads every promotion thread. */
#include "pb_monitor.h"
#include "pb_json.h"
#include "pb_workflow.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_ghout.h"
#include "pb_log.h"

static const char *state_icon(pb_state s)
{
	switch (s) {
	case PB_ST_REQUESTED: return "📝";
	case PB_ST_VALIDATING: return "🔎";
	case PB_ST_IN_REVIEW: return "👀";
	case PB_ST_BLOCKED: return "⛔";
	case PB_ST_APPROVED: return "✅";
	case PB_ST_DEPLOYING: return "🚀";
	case PB_ST_OBSERVING: return "📈";
	case PB_ST_COMPLETED: return "🏁";
	case PB_ST_FAILED: return "💥";
	case PB_ST_ROLLED_BACK: return "↩️";
	case PB_ST_CANCELLED: return "🚫";
	default: return "•";
	}
}

/* The approvals field; a storage failure shows as such (and is logged), never as 0. */
static void add_approvals(pb_cmd_ctx *ctx, pb_card *card, const pb_promotion *p)
{
	pb_approval *list = NULL;
	size_t n = 0;
	pb_err e;

	pb_err_init(&e);
	if (pb_store_approvals_list(ctx->svc->store, p->id, p->revision, &list, &n, &e) == 0) {
		pb_card_field(card, "Approvals", "%zu/%d", n, ctx->svc->cfg->policy.required_approvals);
	} else {
		pb_warn("card", "promotion #%lld: approvals unavailable: %s", (long long)p->id, pb_err_text(&e));
		pb_card_field(card, "Approvals", "unavailable (storage error; see the bot's log)");
	}
	free(list);
}

/* Before any validation of a production promotion: the staging uptime criterion as it stands now. */
/* What the GitHub sources of the latest validation read (stored in its result_json by validate). */
static void add_sources(pb_card *card, const cJSON *src)
{
	const cJSON *ck = cJSON_GetObjectItemCaseSensitive(src, "github_checks");
	const cJSON *wf = cJSON_GetObjectItemCaseSensitive(src, "github_workflow");
	const char *s;

	if (ck) {
		s = pb_json_str(ck, "sha");
		pb_card_field(card, "GitHub checks", "%d on %.12s (%s)%s",
			      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck, "checks")), s ? s : "?",
			      pb_json_str(ck, "ref") ? pb_json_str(ck, "ref") : "?",
			      pb_json_str(ck, "error") ? " — error" : "");
	}
	if (wf) {
		s = pb_json_str(wf, "run_url");
		if (s)
			pb_card_field(card, "GitHub workflow", "%s %s",
				      pb_json_str(wf, "conclusion") && pb_json_str(wf, "conclusion")[0]
					      ? pb_json_str(wf, "conclusion") : pb_json_str(wf, "status") ? pb_json_str(wf, "status") : "?",
				      s);
		else
			pb_card_field(card, "GitHub workflow", "no run (%s)",
				      pb_json_str(wf, "error") ? pb_json_str(wf, "error") : "not found");
	}
}

static void add_staging_uptime(pb_cmd_ctx *ctx, pb_card *card, const pb_promotion *p)
{
	pb_staging_uptime su;
	pb_err e;

	pb_err_init(&e);
	if (pb_cmd_staging_uptime(ctx->svc, p, &su, &e) != 0) {
		pb_warn("card", "promotion #%lld: staging uptime unavailable: %s", (long long)p->id, pb_err_text(&e));
		pb_card_item(card, PB_ITEM_PENDING, "uptime in staging unavailable (storage error; see the bot's log)");
	} else if (su.applies) {
		pb_card_item(card, su.met ? PB_ITEM_PASS : PB_ITEM_FAIL, "%s", su.summary);
	}
}

/* Adds the checklist of the latest validation, or pending items before any. */
static void add_validation_items(pb_cmd_ctx *ctx, pb_card *card, const pb_promotion *p)
{
	pb_validation v;
	cJSON *root = NULL, *crit;
	pb_err e;
	int r;

	/*
	 * The card is drawn after the command's work committed, so a read that
	 * fails here must not fail the command: the card says so and the log
	 * keeps the cause (a scratch error leaves ctx->err to the command).
	 */
	memset(&v, 0, sizeof(v));
	pb_err_init(&e);
	r = pb_store_validation_latest(ctx->svc->store, p->id, &v, &e);
	if (r == PB_E_NOTFOUND) {
		pb_card_item(card, PB_ITEM_PENDING, "validation not run yet (/promote validate %s)",
			     p->component);
		add_staging_uptime(ctx, card, p);
		return;
	}
	if (r) {
		pb_warn("card", "promotion #%lld: validation unavailable: %s", (long long)p->id, pb_err_text(&e));
		pb_card_item(card, PB_ITEM_PENDING, "validation unavailable (storage error; see the bot's log)");
		return;
	}
	root = cJSON_Parse(v.result_json ? v.result_json : "");
	crit = cJSON_GetObjectItemCaseSensitive(root, "criteria");
	if (cJSON_IsArray(crit)) {
		const cJSON *it;

		cJSON_ArrayForEach(it, crit) {
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "state");
			const cJSON *summary = cJSON_GetObjectItemCaseSensitive(it, "summary");
			pb_item_state s = PB_ITEM_PENDING;

			if (cJSON_IsString(st)) {
				if (!strcmp(st->valuestring, "pass"))
					s = PB_ITEM_PASS;
				else if (!strcmp(st->valuestring, "fail"))
					s = PB_ITEM_FAIL;
				else if (!strcmp(st->valuestring, "skip"))
					s = PB_ITEM_SKIP;
			}
			pb_card_item(card, s, "%s",
				     cJSON_IsString(summary) ? summary->valuestring : "?");
		}
	}
	add_sources(card, cJSON_GetObjectItemCaseSensitive(root, "sources"));
	cJSON_Delete(root);
	pb_validation_deinit(&v);
}

/* The observation's health line; a storage failure shows as such, never as a blank. */
static void add_health(pb_cmd_ctx *ctx, pb_card *card, const pb_promotion *p)
{
	char line[256];
	pb_err e;

	pb_err_init(&e);
	if (pb_monitor_status_line(ctx->svc, p, line, sizeof(line), &e))
		pb_card_field(card, "Observation", "unavailable: %s", pb_err_text(&e));
	else
		pb_card_field(card, "Observation", "%s", line);
}

/* The promotion's GitHub issue and what its mirror still owes (pending / failed updates). */
static void add_github(pb_cmd_ctx *ctx, pb_card *card, const pb_promotion *p)
{
	pb_buf line;
	pb_err e;

	pb_buf_init(&line);
	pb_err_init(&e);
	if (pb_ghout_describe(ctx->svc, p, &line, &e)) {
		pb_warn("card", "promotion #%lld: GitHub state unavailable: %s", (long long)p->id, pb_err_text(&e));
		pb_card_field(card, "GitHub", "unavailable (storage error; see the bot's log)");
	} else if (line.len) {
		/* "GitHub: #12 https://…; 3 updates pending (502, retrying)" */
		pb_card_field(card, "GitHub", "%s", pb_buf_str(&line) + strlen("GitHub: "));
	}
	pb_buf_deinit(&line);
}

/* Takes `verb` out of a ", "-separated list: an external deployment offers no rollback. */
/* What the promotion's GitHub issue contradicts (the poller saw it twice): shown, never overwritten. */
static void add_gh_drift(pb_cmd_ctx *ctx, pb_card *card, const pb_promotion *p)
{
	pb_gh_drift d;
	pb_err e;
	int r;

	if (!p->issue_number || !pb_state_is_open(p->state))
		return; /* a closed issue is what a finished promotion implies */
	pb_err_init(&e);
	r = pb_store_gh_drift_get(ctx->svc->store, p->id, &d, &e);
	if (r == 0 && d.confirmed)
		pb_card_text(card, "⚠ GitHub drift: %s", d.text);
	else if (r != 0 && r != PB_E_NOTFOUND)
		pb_warn("card", "promotion #%lld: GitHub drift unknown: %s", (long long)p->id, pb_err_text(&e));
}

static void drop_verb(char *list, const char *verb)
{
	size_t n = strlen(verb);

	for (char *at = strstr(list, verb); at; at = strstr(at + n, verb)) {
		char *from = at + n;

		if ((at != list && at[-1] != ' ') || (*from && *from != ','))
			continue;
		if (*from == ',')
			from += 2;        /* "rollback, x" → "x" */
		else if (at != list)
			at -= 2;          /* "x, rollback" → "x" */
		memmove(at, from, strlen(from) + 1);
		return;
	}
}

pb_card *pb_promotion_card(pb_cmd_ctx *ctx, const pb_promotion *p, pb_thread_role role)
{
	const pb_component *c = pb_config_component(ctx->svc->cfg, p->component);
	const pb_user *req = pb_config_user(ctx->svc->cfg, p->requester);
	char title[256], label[160], when[64], next[256];
	pb_card *card;

	snprintf(title, sizeof(title), "%s Promotion: %s → %s", state_icon(p->state),
		 c ? c->name : p->component, pb_stage_title((pb_stage)p->target_stage));
	card = pb_card_new(title);
	if (!card)
		return NULL;
	pb_cmd_thread_label(p, label, sizeof(label));
	pb_card_thread(card, p->id, label, role);
	card->audience = PB_AUDIENCE_THREAD;
	pb_card_field(card, "State", "%s", pb_state_name(p->state));
	pb_card_field(card, "Stages", "%s → %s", pb_stage_title((pb_stage)p->from_stage),
		      pb_stage_title((pb_stage)p->target_stage));
	pb_card_field(card, "Requester", "%s", req ? req->name : p->requester);
	if (c && c->group)
		pb_card_field(card, "Group", "%s", c->group);
	if (p->revision[0])
		pb_card_field(card, "Revision", "%s", p->revision);
	add_approvals(ctx, card, p);
	pb_time_fmt(p->created_at, when, sizeof(when));
	pb_card_field(card, "Requested", "%s", when);
	add_github(ctx, card, p);
	if (p->justification[0])
		pb_card_text(card, "%s", p->justification);
	add_validation_items(ctx, card, p);
	add_gh_drift(ctx, card, p);
	if (p->state == PB_ST_OBSERVING)
		add_health(ctx, card, p);
	pb_workflow_next_verbs(p->state, next, sizeof(next));
	if (c && pb_config_deploy(c, (pb_stage)p->target_stage) &&
	    pb_config_deploy(c, (pb_stage)p->target_stage)->external)
		drop_verb(next, "rollback");
	pb_card_field(card, "Next", "%s", next);
	if (p->state == PB_ST_IN_REVIEW) {
		pb_card_button(card, "Approve", "approve", p->component, false);
		pb_card_button(card, "Reject", "reject", p->component, true);
	}
	return card;
}

void pb_cmd_emit_parent(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	pb_card *card = pb_promotion_card(ctx, p, PB_THREAD_PARENT_UPDATE);

	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
}
