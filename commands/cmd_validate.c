/* cmd_validate.c — /promote validate <component>: local checks and GitHub sources, mapped to the stage's criteria. */
#include "pb_workflow.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_checks.h"
#include "pb_log.h"
#include "pb_vsources.h"

#define TAIL_BYTES 1500 /* output kept in chat/JSON for a failing check */

typedef struct crit_result {
	pb_item_state state;
	char summary[1024];
} crit_result;

enum { SRC_CHECKS, SRC_WORKFLOW, SRC_GH };
static const char *const src_names[SRC_GH] = { "github_checks", "github_workflow" };

/* The last `max` bytes of s, starting at a line boundary when possible. */
static const char *tail_of(const char *s, size_t len, size_t max)
{
	const char *t;

	if (len <= max)
		return s;
	t = s + len - max;
	for (const char *nl = t; nl < s + len; nl++)
		if (*nl == '\n')
			return nl + 1;
	return t;
}

/* Revision: a fixed value from config, or the first line a configured command prints. */
static int compute_revision(const pb_component *c, char *out, size_t size, pb_err *err)
{
	pb_check_spec spec = { 0 };
	pb_check_result res;
	size_t n;

	if (c->revision_value || !c->revision_argv) {
		pb_strlcpy(out, c->revision_value ? c->revision_value : "unversioned", size);
		return 0;
	}
	spec.argv = (const char *const *)c->revision_argv;
	spec.cwd = c->workdir;
	spec.timeout_s = 30;
	spec.max_output = 4096;
	pb_check_run(&spec, &res);
	if (!pb_check_passed(&res)) {
		int r = pb_err_set(err, PB_E_FAILED, "cannot determine the revision: %s %s",
				   c->revision_argv[0], res.error[0] ? res.error : "failed");
		pb_check_result_deinit(&res);
		return r;
	}
	n = strcspn(res.output ? res.output : "", "\r\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, res.output ? res.output : "", n);
	out[n] = '\0';
	pb_check_result_deinit(&res);
	if (!out[0])
		return pb_err_set(err, PB_E_FAILED, "cannot determine the revision: %s printed nothing",
				  c->revision_argv[0]);
	return 0;
}

static const char *outcome_text(const pb_check_result *r, char *buf, size_t size)
{
	switch (r->outcome) {
	case PB_CHECK_EXITED:
		snprintf(buf, size, "exit %d", r->exit_code);
		break;
	case PB_CHECK_SIGNALLED:
		snprintf(buf, size, "killed by signal %d", r->signal);
		break;
	case PB_CHECK_TIMEOUT:
		snprintf(buf, size, "timed out");
		break;
	case PB_CHECK_NOT_FOUND:
		snprintf(buf, size, "not runnable: %s", r->error);
		break;
	default:
		snprintf(buf, size, "error: %s", r->error);
	}
	return buf;
}

/* Runs one check and records it in the JSON array; returns whether it passed. */
static bool run_check(pb_cmd_ctx *ctx, const pb_component *c, const pb_check_cfg *chk,
		      cJSON *jchecks, double *coverage, pb_card *card)
{
	pb_check_spec spec = { 0 };
	pb_check_result res;
	char how[320];
	bool ok;
	cJSON *j = cJSON_CreateObject();

	spec.argv = (const char *const *)chk->argv;
	spec.cwd = c->workdir;
	spec.timeout_s = chk->timeout_s;
	spec.max_output = chk->max_output;
	spec.coverage_regex = chk->coverage_regex;
	pb_check_run(&spec, &res);
	ok = pb_check_passed(&res);
	if (chk->criterion == PB_CRIT_COVERAGE)
		*coverage = res.coverage;
	outcome_text(&res, how, sizeof(how));
	cJSON_AddStringToObject(j, "name", chk->name);
	cJSON_AddStringToObject(j, "criterion", pb_criterion_name(chk->criterion));
	cJSON_AddBoolToObject(j, "passed", ok);
	cJSON_AddStringToObject(j, "outcome", how);
	cJSON_AddNumberToObject(j, "duration_ms", (double)res.duration_ms);
	if (res.coverage >= 0)
		cJSON_AddNumberToObject(j, "coverage", res.coverage);
	if (!ok && res.output) {
		const char *t = tail_of(res.output, res.output_len, TAIL_BYTES);

		cJSON_AddStringToObject(j, "output_tail", t);
		pb_card_pre(card, t);
	}
	cJSON_AddItemToArray(jchecks, j);
	pb_info("validate", "%s: check \"%s\" %s (%ld ms)", c->id, chk->name, how, res.duration_ms);
	pb_check_result_deinit(&res);
	return ok;
}

/* Folds the local checks of each criterion into one pass/fail verdict (criteria no check ran stay NONE). */
static void judge_local(const bool *ran, const bool *passed, double coverage, int threshold, pb_vcrit *out)
{
	for (int k = 0; k < PB_CRIT_COUNT; k++) {
		const char *name = pb_criterion_name((pb_criterion)k);

		if (!ran[k]) {
			out[k].state = PB_V_NONE;
		} else if (k == PB_CRIT_COVERAGE) {
			bool enough = passed[k] && coverage >= 0 && coverage >= threshold;

			out[k].state = enough ? PB_V_PASS : PB_V_FAIL;
			if (coverage < 0)
				snprintf(out[k].summary, sizeof(out[k].summary),
					 "coverage: no percentage found in the output (≥ %d%% required)", threshold);
			else
				snprintf(out[k].summary, sizeof(out[k].summary), "coverage %.1f%% %s %d%%",
					 coverage, coverage >= threshold ? "≥" : "<", threshold);
			if (!passed[k] && coverage >= 0)
				snprintf(out[k].summary, sizeof(out[k].summary), "coverage: check failed");
		} else {
			out[k].state = passed[k] ? PB_V_PASS : PB_V_FAIL;
			snprintf(out[k].summary, sizeof(out[k].summary), "%s %s", name,
				 passed[k] ? "passing" : "failing");
		}
	}
}

/*
 * Combines the sources: a criterion passes only if no source fails it and at
 * least one passes it; one no source covers is "no check configured". A
 * criterion the policy does not require never fails the validation (SKIP).
 */
static void combine(const pb_cmd_ctx *ctx, const pb_vcrit *const *srcs, size_t nsrc, crit_result *out)
{
	for (int k = 0; k < PB_CRIT_COUNT; k++) {
		const char *name = pb_criterion_name((pb_criterion)k);
		bool required = ctx->svc->cfg->policy.required[k];
		pb_vstate want = PB_V_NONE;
		size_t len = 0;

		for (size_t i = 0; i < nsrc; i++)
			if (srcs[i] && srcs[i][k].state == PB_V_FAIL)
				want = PB_V_FAIL;
			else if (srcs[i] && srcs[i][k].state == PB_V_PASS && want == PB_V_NONE)
				want = PB_V_PASS;
		out[k].summary[0] = '\0';
		if (want == PB_V_NONE) {
			out[k].state = required ? PB_ITEM_FAIL : PB_ITEM_SKIP;
			snprintf(out[k].summary, sizeof(out[k].summary), "%s: no check configured%s",
				 name, required ? " (required)" : "");
			continue;
		}
		out[k].state = want == PB_V_PASS ? PB_ITEM_PASS : PB_ITEM_FAIL;
		for (size_t i = 0; i < nsrc; i++) {
			if (!srcs[i] || srcs[i][k].state != want)
				continue;
			len = strlen(out[k].summary);
			snprintf(out[k].summary + len, sizeof(out[k].summary) - len, "%s%s", len ? "; " : "",
				 srcs[i][k].summary);
		}
		if (!required && out[k].state == PB_ITEM_FAIL)
			out[k].state = PB_ITEM_SKIP;
	}
}

/*
 * Production only: the staging observation is a required criterion like the
 * checks' ones, stored with them (so the card shows it) and failing the
 * validation when unmet. A storage failure reading it fails the criterion
 * with the reason; it never passes by default.
 */
static bool add_staging_uptime(pb_cmd_ctx *ctx, const pb_promotion *p, cJSON *jcrit, pb_card *card)
{
	pb_staging_uptime su;
	pb_err e;
	cJSON *j;

	pb_err_init(&e);
	if (pb_cmd_staging_uptime(ctx->svc, p, &su, &e) != 0) {
		su.applies = true;
		su.met = false;
		snprintf(su.summary, sizeof(su.summary), "uptime in staging: unreadable (%s)", pb_err_text(&e));
	}
	if (!su.applies)
		return true;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "criterion", "staging_uptime");
	cJSON_AddStringToObject(j, "state", su.met ? "pass" : "fail");
	cJSON_AddStringToObject(j, "summary", su.summary);
	cJSON_AddItemToArray(jcrit, j);
	pb_card_item(card, su.met ? PB_ITEM_PASS : PB_ITEM_FAIL, "%s", su.summary);
	return su.met;
}

/* Runs every local check into the JSON document; fills the local verdicts. */
static void run_local(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, cJSON *doc, pb_card *card,
		      pb_vcrit *verdict, double *coverage)
{
	bool ran[PB_CRIT_COUNT] = { false }, passed[PB_CRIT_COUNT];
	cJSON *jchecks = cJSON_AddArrayToObject(doc, "checks");
	int threshold = ctx->svc->cfg->policy.coverage_min[p->target_stage];

	for (int k = 0; k < PB_CRIT_COUNT; k++)
		passed[k] = true;
	*coverage = -1;
	for (size_t i = 0; i < c->nchecks; i++) {
		const pb_check_cfg *chk = &c->checks[i];

		ran[chk->criterion] = true;
		if (!run_check(ctx, c, chk, jchecks, coverage, card))
			passed[chk->criterion] = false;
	}
	judge_local(ran, passed, *coverage, threshold, verdict);
}

static void add_row(cJSON *jcrit, pb_card *card, const char *criterion, pb_item_state st, const char *summary)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "criterion", criterion);
	cJSON_AddStringToObject(j, "state", st == PB_ITEM_PASS ? "pass" : st == PB_ITEM_FAIL ? "fail" : "skip");
	cJSON_AddStringToObject(j, "summary", summary);
	cJSON_AddItemToArray(jcrit, j);
	pb_card_item(card, st, "%s", summary);
}

/* Writes the combined criteria (and the sources' own gates) into the document and card. Returns overall pass. */
static bool judge_all(pb_cmd_ctx *ctx, const pb_promotion *p, const pb_vcrit *local, pb_vsource_out *gh,
		      const bool *have, cJSON *doc, pb_card *card)
{
	const pb_vcrit *srcs[1 + SRC_GH] = { local, have[SRC_CHECKS] ? gh[SRC_CHECKS].crit : NULL,
					     have[SRC_WORKFLOW] ? gh[SRC_WORKFLOW].crit : NULL };
	cJSON *jcrit = cJSON_AddArrayToObject(doc, "criteria");
	crit_result crit[PB_CRIT_COUNT];
	bool all = true;

	combine(ctx, srcs, 1 + SRC_GH, crit);
	for (int k = 0; k < PB_CRIT_COUNT; k++) {
		add_row(jcrit, card, pb_criterion_name((pb_criterion)k), crit[k].state, crit[k].summary);
		if (crit[k].state == PB_ITEM_FAIL)
			all = false;
	}
	/* A source's own verdict (the workflow's) is a row that must pass whatever the policy requires. */
	for (int i = 0; i < SRC_GH; i++) {
		if (!have[i] || !gh[i].has_gate)
			continue;
		add_row(jcrit, card, "workflow", gh[i].gate.state == PB_V_PASS ? PB_ITEM_PASS : PB_ITEM_FAIL,
			gh[i].gate.summary);
		if (gh[i].gate.state != PB_V_PASS)
			all = false;
	}
	if (!add_staging_uptime(ctx, p, jcrit, card))
		all = false;
	return all;
}

/* Stores the result, resets approvals and moves to in_review/blocked in one transaction. */
static int record_result(pb_cmd_ctx *ctx, pb_promotion *p, pb_validation *v, bool passed,
			 size_t *reset)
{
	char detail[256];
	int r = pb_store_begin(ctx->svc->store, &ctx->err);

	if (r)
		return r;
	r = pb_cmd_approval_count(ctx, p, reset);
	if (!r)
		r = pb_store_validation_add(ctx->svc->store, v, &ctx->err);
	/* Approvals reset on every re-validation (even of the same revision): the
	 * store keeps only approvals of the promotion's current revision, so clear
	 * the revision first, reset, then bind the new one. */
	if (!r)
		r = pb_store_promotion_set_revision(ctx->svc->store, p->id, "", pb_services_now(ctx->svc), &ctx->err);
	if (!r)
		r = pb_store_approvals_reset(ctx->svc->store, p->id, &ctx->err);
	if (!r)
		r = pb_store_promotion_set_revision(ctx->svc->store, p->id, v->revision, pb_services_now(ctx->svc),
						    &ctx->err);
	snprintf(detail, sizeof(detail), "validation of %s %s", v->revision, passed ? "passed" : "failed");
	if (!r)
		r = pb_cmd_transition_in_tx(ctx, p, passed ? PB_ST_IN_REVIEW : PB_ST_BLOCKED, detail);
	if (!r)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		return r;
	}
	pb_strlcpy(p->revision, v->revision, sizeof(p->revision));
	return 0;
}

static void dry_run_plan(pb_cmd_ctx *ctx, const pb_component *c)
{
	pb_buf b;

	pb_buf_init(&b);
	if (c->validation.sources & PB_VSRC_LOCAL)
		pb_buf_printf(&b, "would run %zu check%s for %s in %s:\n", c->nchecks, c->nchecks == 1 ? "" : "s",
			      c->id, c->workdir ? c->workdir : ".");
	else
		pb_buf_printf(&b, "would validate %s on GitHub (no local checks):\n", c->id);
	for (size_t i = 0; i < c->nchecks && (c->validation.sources & PB_VSRC_LOCAL); i++) {
		pb_buf_printf(&b, "  %s (%s):", c->checks[i].name, pb_criterion_name(c->checks[i].criterion));
		for (size_t k = 0; k < c->checks[i].argc; k++)
			pb_buf_printf(&b, " %s", c->checks[i].argv[k]);
		pb_buf_printf(&b, "  [timeout %ds]\n", c->checks[i].timeout_s);
	}
	if (c->validation.sources & PB_VSRC_GITHUB_CHECKS)
		pb_buf_printf(&b, "read the check runs and commit statuses of %s in %s (pending ones polled every %ds, "
			      "at most %ds)\n", c->validation.ref, c->github_repo ? c->github_repo : "?",
			      c->validation.poll_s, c->validation.timeout_s);
	if (c->validation.sources & PB_VSRC_GITHUB_WORKFLOW)
		pb_buf_printf(&b, "%s workflow %s in %s and wait for its run (at most %ds)\n",
			      c->validation.wf_mode == PB_WF_DISPATCH ? "dispatch" : "read the promotion issue's run of",
			      c->validation.wf_file, c->github_repo ? c->github_repo : "?", c->validation.timeout_s);
	pb_buf_puts(&b, "then move the promotion to in_review (all required criteria pass) or blocked, "
		    "resetting existing approvals");
	pb_cmd_dry_run(ctx, "%s", pb_buf_str(&b));
	pb_buf_deinit(&b);
}

static int validate_run(pb_cmd_ctx *ctx, const pb_component *c, pb_promotion *p)
{
	unsigned src = c->validation.sources;
	bool have[SRC_GH] = { (src & PB_VSRC_GITHUB_CHECKS) != 0, (src & PB_VSRC_GITHUB_WORKFLOW) != 0 };
	int threshold = ctx->svc->cfg->policy.coverage_min[p->target_stage];
	pb_vsource_out gh[SRC_GH];
	pb_vcrit local[PB_CRIT_COUNT];
	char local_rev[PB_ID_MAX] = "";
	bool rev_ok = true, any_gh = have[SRC_CHECKS] || have[SRC_WORKFLOW];
	double local_cov = -1;
	pb_err rev_err;
	pb_validation v;
	pb_card *card;
	cJSON *doc = cJSON_CreateObject();
	size_t reset = 0;
	bool passed = true;
	char *json;
	int r = 0;

	memset(&v, 0, sizeof(v));
	memset(local, 0, sizeof(local));
	v.promotion_id = p->id;
	v.started_at = pb_services_now(ctx->svc);
	card = pb_cmd_thread_card(p, "Validation");
	pb_err_init(&rev_err);
	for (int i = 0; i < SRC_GH; i++)
		pb_vsource_out_init(&gh[i]);
	if (src & PB_VSRC_LOCAL) {
		if (compute_revision(c, local_rev, sizeof(local_rev), &rev_err)) {
			/* the checks cannot be bound to a revision: record a failed validation (the card says why) */
			pb_card_item(card, PB_ITEM_FAIL, "%s", pb_err_text(&rev_err));
			rev_ok = false;
			cJSON_AddStringToObject(doc, "error", "revision unavailable");
		} else {
			run_local(ctx, c, p, doc, card, local, &local_cov);
		}
	}
	/* GitHub sources wait for pending checks / runs inside the command (see README: bounded by timeout_s). */
	if (rev_ok && have[SRC_CHECKS])
		r = pb_vsrc_github_checks(ctx, c, p, threshold, &gh[SRC_CHECKS]);
	if (rev_ok && !r && have[SRC_WORKFLOW])
		r = pb_vsrc_github_workflow(ctx, c, p, threshold, &gh[SRC_WORKFLOW]);
	if (r < 0)
		goto out;
	/* The revision approvals bind to: the commit GitHub validated, else the local one. */
	if (have[SRC_CHECKS] && gh[SRC_CHECKS].revision[0])
		pb_strlcpy(v.revision, gh[SRC_CHECKS].revision, sizeof(v.revision));
	else if (have[SRC_WORKFLOW] && gh[SRC_WORKFLOW].revision[0])
		pb_strlcpy(v.revision, gh[SRC_WORKFLOW].revision, sizeof(v.revision));
	else
		pb_strlcpy(v.revision, local_rev[0] ? local_rev : "unknown", sizeof(v.revision));
	if (rev_ok)
		passed = judge_all(ctx, p, local, gh, have, doc, card);
	else
		passed = false;
	v.coverage = local_cov;
	for (int i = 0; i < SRC_GH; i++)
		if (have[i] && gh[i].coverage >= 0 && (v.coverage < 0 || gh[i].coverage < v.coverage))
			v.coverage = gh[i].coverage;
	if (any_gh && rev_ok) {
		cJSON *jsrc = cJSON_AddObjectToObject(doc, "sources");

		if (src & PB_VSRC_LOCAL) {
			cJSON *jl = cJSON_AddObjectToObject(jsrc, "local");

			cJSON_AddStringToObject(jl, "revision", local_rev);
		}
		for (int i = 0; i < SRC_GH; i++)
			if (have[i]) {
				cJSON_AddItemToObject(jsrc, src_names[i], gh[i].json);
				gh[i].json = NULL;
			}
	}
	cJSON_AddStringToObject(doc, "revision", v.revision);
	json = cJSON_PrintUnformatted(doc);
	v.result_json = json;
	v.passed = passed;
	v.finished_at = pb_services_now(ctx->svc);
	r = json ? record_result(ctx, p, &v, passed, &reset) : -ENOMEM;
	free(json);
	if (r == 0) {
		char title[160];

		snprintf(title, sizeof(title), "%s Validation %s — %s", passed ? "✅" : "⛔",
			 passed ? "passed" : "failed", c->id);
		free(card->title);
		card->title = pb_strdup0(title);
		pb_card_field(card, "Revision", "%s", v.revision);
		pb_card_field(card, "State", "%s", pb_state_name(p->state));
		if (reset)
			pb_card_field(card, "Approvals", "%zu reset (they bound the previous validation)", reset);
		pb_card_text(card, passed ? "All required criteria pass. Next: an approver runs /promote approve %s"
				 : "Required criteria fail. Fix them and run /promote validate %s again", c->id);
		pb_sink_emit(ctx->sink, card);
		pb_cmd_emit_parent(ctx, p);
	}
out:
	for (int i = 0; i < SRC_GH; i++)
		pb_vsource_out_deinit(&gh[i]);
	cJSON_Delete(doc);
	pb_card_free(card);
	return r;
}

int pb_cmd_validate(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_promotion p;
	int r;

	(void)argc;
	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (r)
		return r;
	if (!pb_workflow_allowed(p.state, PB_ST_VALIDATING))
		return pb_cmd_refuse_state(ctx, &p, "validate");
	if (ctx->dry_run) {
		dry_run_plan(ctx, c);
		return 0;
	}
	r = pb_cmd_transition(ctx, &p, PB_ST_VALIDATING, "validation started");
	if (r)
		return r;
	pb_cmd_emit_parent(ctx, &p);
	return validate_run(ctx, c, &p);
}
