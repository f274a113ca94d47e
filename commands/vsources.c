/* vsources.c — validate's GitHub sources: check runs + commit statuses of a ref, and the validation workflow. */
#include "pb_vsources.h"

#include <ctype.h>
#include <fnmatch.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "github.h"
#include "pb_ghout.h"
#include "pb_json.h"
#include "pb_log.h"
#include "pb_workflow.h"

#define SKEW_S 120            /* clock skew allowed between us and GitHub when matching runs by time */
#define PROGRESS_EVERY_MS (5 * 60 * 1000) /* a "still waiting" line at most this often when nothing changes */
#define MAX_RECORDED 300      /* matching checks listed in the stored result (failing ones always are) */
#define WF_MARKER "## 🤖 Automated Promotion Validation"
#define LABEL_IN_REVIEW "promotion:in-review"
#define LABEL_BLOCKED "promotion:blocked"

void pb_vsource_out_init(pb_vsource_out *o)
{
	memset(o, 0, sizeof(*o));
	o->coverage = -1;
	o->json = cJSON_CreateObject();
}

void pb_vsource_out_deinit(pb_vsource_out *o)
{
	cJSON_Delete(o->json);
	o->json = NULL;
}

double pb_vsrc_percentage(const char *text)
{
	for (const char *s = text ? strchr(text, '%') : NULL; s; s = strchr(s + 1, '%')) {
		const char *e = s, *b;
		char num[32];
		double v;

		while (e > text && e[-1] == ' ')
			e--;
		b = e;
		while (b > text && (isdigit((unsigned char)b[-1]) || b[-1] == '.'))
			b--;
		if (b == e || (size_t)(e - b) >= sizeof(num) || !isdigit((unsigned char)*b))
			continue;
		memcpy(num, b, (size_t)(e - b));
		num[e - b] = '\0';
		v = strtod(num, NULL);
		if (v >= 0 && v <= 100)
			return v;
	}
	return -1;
}

static void vset(pb_vcrit *v, pb_vstate st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vset(pb_vcrit *v, pb_vstate st, const char *fmt, ...)
{
	va_list ap;

	v->state = st;
	va_start(ap, fmt);
	vsnprintf(v->summary, sizeof(v->summary), fmt, ap);
	va_end(ap);
}

/* Every criterion the source covers fails with the same reason (GitHub unreachable, timeout, …). */
static void fail_covered(pb_vsource_out *out, const bool *covered, const char *why)
{
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		if (covered[k])
			vset(&out->crit[k], PB_V_FAIL, "%s: %s", pb_criterion_name((pb_criterion)k), why);
	cJSON_AddStringToObject(out->json, "error", why);
}

static void progress(pb_cmd_ctx *ctx, const pb_promotion *p, const char *text)
{
	pb_card *card = pb_cmd_thread_card(p, "Validation");

	if (!card)
		return;
	pb_card_text(card, "%s", text);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
}

/* ---- github_checks ---------------------------------------------------- */

typedef enum { OBS_PENDING, OBS_PASS, OBS_FAIL } obs_state;

/* One check run or commit status, as the criteria see it. */
typedef struct obs {
	const char *kind;         /* "check_run" | "status" */
	const char *name;
	const char *raw;          /* status/conclusion as GitHub said it */
	const char *url;
	const char *texts[2];     /* where a percentage may be stated */
	obs_state st;
} obs;

/*
 * GitHub's own reading (branch protection): success, neutral and skipped
 * satisfy a required check — neutral is "ran, nothing to report", skipped
 * is a job whose `if:` was false. Anything else completed fails, and an
 * unknown conclusion never passes.
 */
static obs_state check_state(const pb_github_check *ck)
{
	static const char *const ok[] = { "success", "neutral", "skipped", NULL };

	if (strcmp(ck->status, "completed") != 0)
		return OBS_PENDING;
	for (int i = 0; ok[i]; i++)
		if (strcmp(ck->conclusion, ok[i]) == 0)
			return OBS_PASS;
	return OBS_FAIL;
}

static obs_state status_state(const char *state)
{
	if (strcmp(state, "success") == 0)
		return OBS_PASS;
	if (strcmp(state, "pending") == 0)
		return OBS_PENDING;
	return OBS_FAIL; /* failure, error, or anything GitHub may add */
}

static bool pattern_match(const pb_validation_cfg *vc, int k, const char *name)
{
	for (size_t i = 0; i < vc->npatterns[k]; i++)
		if (strcmp(vc->patterns[k][i], name) == 0 || fnmatch(vc->patterns[k][i], name, 0) == 0)
			return true;
	return false;
}

typedef struct checks_read {
	pb_github_check *runs;
	size_t nruns;
	pb_github_combined comb;
	obs *v;
	size_t n;
} checks_read;

static void checks_read_deinit(checks_read *cr)
{
	free(cr->runs);
	pb_github_combined_deinit(&cr->comb);
	free(cr->v);
	memset(cr, 0, sizeof(*cr));
}

static int checks_fetch(pb_github *g, const char *repo, const char *sha, checks_read *cr, pb_err *err)
{
	int r;

	checks_read_deinit(cr);
	r = pb_github_check_runs(g, repo, sha, &cr->runs, &cr->nruns, err);
	if (!r)
		r = pb_github_combined_status(g, repo, sha, &cr->comb, err);
	if (r)
		return r;
	cr->v = calloc(cr->nruns + cr->comb.n + 1, sizeof(*cr->v));
	if (!cr->v)
		return -ENOMEM;
	for (size_t i = 0; i < cr->nruns; i++) {
		const pb_github_check *ck = &cr->runs[i];

		cr->v[cr->n++] = (obs){ "check_run", ck->name, ck->conclusion[0] ? ck->conclusion : ck->status,
					ck->html_url, { ck->output_title, ck->output_summary }, check_state(ck) };
	}
	/* Per context only: the combined `state` is "pending" for a commit with no statuses at all. */
	for (size_t i = 0; i < cr->comb.n; i++) {
		const pb_github_status_ctx *s = &cr->comb.statuses[i];

		cr->v[cr->n++] = (obs){ "status", s->context, s->state, s->target_url, { s->description, NULL },
					status_state(s->state) };
	}
	return 0;
}

/* Names of the pending observations that a criterion pattern matches, "a, b" (count in *n). */
static void pending_names(const pb_validation_cfg *vc, const checks_read *cr, char *out, size_t size, size_t *n)
{
	out[0] = '\0';
	*n = 0;
	for (size_t i = 0; i < cr->n; i++) {
		bool used = false;

		if (cr->v[i].st != OBS_PENDING)
			continue;
		for (int k = 0; k < PB_CRIT_COUNT; k++)
			used |= pattern_match(vc, k, cr->v[i].name);
		if (!used)
			continue;
		snprintf(out + strlen(out), size - strlen(out), "%s%s", *n ? ", " : "", cr->v[i].name);
		(*n)++;
	}
}

/* Folds what was read into per-criterion verdicts and the JSON record. */
static void checks_judge(const pb_validation_cfg *vc, const checks_read *cr, const char *sha, int threshold,
			 bool timed_out, pb_vsource_out *out)
{
	cJSON *arr = cJSON_AddArrayToObject(out->json, "checks");
	size_t recorded = 0, omitted = 0;

	for (size_t i = 0; i < cr->n; i++) {
		const obs *o = &cr->v[i];
		cJSON *j;
		int crit = -1;

		for (int k = 0; k < PB_CRIT_COUNT && crit < 0; k++)
			if (pattern_match(vc, k, o->name))
				crit = k;
		if (crit < 0)
			continue; /* not a check any criterion asked for */
		/* the stored result stays small whatever a matrix build produces; failures always fit first */
		if (recorded >= MAX_RECORDED && o->st != OBS_FAIL) {
			omitted++;
			continue;
		}
		recorded++;
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "kind", o->kind);
		cJSON_AddStringToObject(j, "name", o->name);
		cJSON_AddStringToObject(j, "criterion", pb_criterion_name((pb_criterion)crit));
		cJSON_AddStringToObject(j, "conclusion", o->raw);
		if (o->url[0])
			cJSON_AddStringToObject(j, "url", o->url);
		cJSON_AddItemToArray(arr, j);
	}
	if (omitted)
		cJSON_AddNumberToObject(out->json, "checks_omitted", (double)omitted);
	for (int k = 0; k < PB_CRIT_COUNT; k++) {
		const char *name = pb_criterion_name((pb_criterion)k);
		size_t matched = 0, failed = 0, pending = 0;
		const obs *first_fail = NULL;
		char pend[256] = "";
		double pct = -1;

		if (!vc->npatterns[k])
			continue;
		for (size_t i = 0; i < cr->n; i++) {
			const obs *o = &cr->v[i];

			if (!pattern_match(vc, k, o->name))
				continue;
			matched++;
			if (o->st == OBS_FAIL && !failed++)
				first_fail = o;
			if (o->st == OBS_PENDING)
				snprintf(pend + strlen(pend), sizeof(pend) - strlen(pend), "%s%s", pending++ ? ", " : "",
					 o->name);
			for (int t = 0; t < 2 && pct < 0 && k == PB_CRIT_COVERAGE && o->st == OBS_PASS; t++)
				pct = pb_vsrc_percentage(o->texts[t]);
		}
		if (!matched) {
			vset(&out->crit[k], PB_V_FAIL, "%s: missing — no check run or status on %.12s matches %s%s", name,
			     sha, vc->patterns[k][0], vc->npatterns[k] > 1 ? " (or the other patterns)" : "");
		} else if (failed) {
			vset(&out->crit[k], PB_V_FAIL, "%s failing: %s %s%s%s%s", name, first_fail->name, first_fail->raw,
			     first_fail->url[0] ? " — " : "", first_fail->url,
			     failed > 1 ? " (and others)" : "");
		} else if (pending) {
			vset(&out->crit[k], PB_V_FAIL, "%s: %s still pending after %d s (timeout)", name, pend,
			     vc->timeout_s);
		} else if (k == PB_CRIT_COVERAGE) {
			if (pct < 0)
				vset(&out->crit[k], PB_V_FAIL,
				     "coverage: no percentage in the matching checks' title/summary or status description "
				     "(≥ %d%% required)", threshold);
			else
				vset(&out->crit[k], pct >= threshold ? PB_V_PASS : PB_V_FAIL, "coverage %.1f%% %s %d%% (GitHub)",
				     pct, pct >= threshold ? "≥" : "<", threshold);
			if (pct >= 0 && (out->coverage < 0 || pct < out->coverage))
				out->coverage = pct;
		} else {
			vset(&out->crit[k], PB_V_PASS, "%s passing (%zu check%s on GitHub)", name, matched,
			     matched == 1 ? "" : "s");
		}
	}
	if (timed_out)
		cJSON_AddBoolToObject(out->json, "timed_out", 1);
}

int pb_vsrc_github_checks(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, int threshold,
			  pb_vsource_out *out)
{
	const pb_validation_cfg *vc = &c->validation;
	pb_github *g = ctx->svc->github;
	const pb_clock *clk = ctx->svc->clock;
	checks_read cr = { 0 };
	bool covered[PB_CRIT_COUNT];
	char sha[41] = "", last_pending[256] = "", why[600];
	int64_t deadline, last_post;
	bool timed_out = false;
	pb_err e;
	int r = 0, polls = 0;

	pb_err_init(&e);
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		covered[k] = vc->npatterns[k] > 0;
	cJSON_AddStringToObject(out->json, "ref", vc->ref);
	if (!g) {
		fail_covered(out, covered, "GitHub is not configured (no github section)");
		return 0;
	}
	r = pb_github_ref_sha(g, c->github_repo, vc->ref, sha, &e);
	if (r) {
		snprintf(why, sizeof(why), "cannot resolve %s in %s: %s", vc->ref, c->github_repo, pb_err_text(&e));
		fail_covered(out, covered, why);
		return r == -ENOMEM ? r : 0;
	}
	pb_strlcpy(out->revision, sha, sizeof(out->revision));
	cJSON_AddStringToObject(out->json, "sha", sha);
	deadline = pb_clock_mono_ms(clk) + (int64_t)vc->timeout_s * 1000;
	last_post = pb_clock_mono_ms(clk);
	for (;;) {
		char pend[256];
		size_t npend;

		r = checks_fetch(g, c->github_repo, sha, &cr, &e);
		polls++;
		if (r) {
			if (r == -ENOMEM)
				goto out;
			snprintf(why, sizeof(why), "GitHub failed while reading the checks of %.12s: %s", sha,
				 pb_err_text(&e));
			fail_covered(out, covered, why);
			r = 0;
			goto out;
		}
		pending_names(vc, &cr, pend, sizeof(pend), &npend);
		/* Nothing pending: done, even when a criterion's check is missing (it may never come). */
		if (!npend)
			break;
		if (pb_clock_mono_ms(clk) + (int64_t)vc->poll_s * 1000 > deadline) {
			timed_out = true;
			break;
		}
		if (strcmp(pend, last_pending) != 0 || pb_clock_mono_ms(clk) - last_post >= PROGRESS_EVERY_MS) {
			char line[400];

			snprintf(line, sizeof(line), "⏳ %zu check%s pending on %.12s: %s", npend, npend == 1 ? "" : "s",
				 sha, pend);
			progress(ctx, p, line);
			pb_strlcpy(last_pending, pend, sizeof(last_pending));
			last_post = pb_clock_mono_ms(clk);
		}
		pb_clock_sleep_ms(clk, (int64_t)vc->poll_s * 1000);
	}
	checks_judge(vc, &cr, sha, threshold, timed_out, out);
	cJSON_AddNumberToObject(out->json, "polls", polls);
	pb_info("validate", "%s: github_checks on %.12s: %zu check runs, %zu statuses, %d polls%s", c->id, sha,
		cr.nruns, cr.comb.n, polls, timed_out ? ", timed out" : "");
out:
	checks_read_deinit(&cr);
	return r;
}

/* ---- github_workflow -------------------------------------------------- */

/* Run ids earlier validations of this promotion already took (stored in their result_json). */
static bool run_claimed(pb_cmd_ctx *ctx, const pb_promotion *p, int64_t run_id)
{
	pb_validation *list = NULL;
	size_t n = 0;
	bool claimed = false;
	pb_err e;

	pb_err_init(&e);
	if (pb_store_validations_of(ctx->svc->store, p->id, &list, &n, &e) != 0)
		return false;
	for (size_t i = 0; i < n && !claimed; i++) {
		cJSON *doc = list[i].result_json ? cJSON_Parse(list[i].result_json) : NULL;
		const cJSON *wf = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "sources"),
								   "github_workflow");
		int64_t id = 0;

		if (pb_json_int(wf, "run_id", 1, INT64_MAX, &id) == 0 && id == run_id)
			claimed = true;
		cJSON_Delete(doc);
	}
	pb_validations_free(list, n);
	return claimed;
}

static bool wf_keyword(const char *line, int k)
{
	static const char *const words[PB_CRIT_COUNT][5] = {
		[PB_CRIT_TESTS] = { "test", NULL },
		[PB_CRIT_COVERAGE] = { "coverage", NULL },
		[PB_CRIT_LINT] = { "lint", "ruff", "flake8", "eslint", NULL },
		[PB_CRIT_TYPES] = { "type", "pyright", "mypy", NULL },
		[PB_CRIT_SECURITY] = { "security", "bandit", "audit", "vulnerab", NULL },
	};

	for (int i = 0; words[k][i]; i++)
		if (strcasestr(line, words[k][i]))
			return true;
	return false;
}

/*
 * The workflow's comment: coverage is the first percentage on a line that
 * mentions "coverage"; failures are the lines that start (after list
 * markers) with ❌. Fills the record and the per-criterion failures.
 */
static void wf_read_comment(const char *body, cJSON *jwf, double *coverage, pb_vsource_out *out, bool *mapped)
{
	cJSON *fails = cJSON_AddArrayToObject(jwf, "failures");
	const char *s = body;

	*coverage = -1;
	*mapped = false;
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char line[400];
		const char *t = line;

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), s);
		if (*coverage < 0 && strcasestr(line, "coverage"))
			*coverage = pb_vsrc_percentage(line);
		while (*t == ' ' || *t == '-' || *t == '*')
			t++;
		if (strncmp(t, "❌", strlen("❌")) == 0) {
			t += strlen("❌");
			while (*t == ' ')
				t++;
			cJSON_AddItemToArray(fails, cJSON_CreateString(t));
			for (int k = 0; k < PB_CRIT_COUNT; k++)
				if (wf_keyword(t, k) && out->crit[k].state != PB_V_FAIL) {
					vset(&out->crit[k], PB_V_FAIL, "%s failing (workflow): %s",
					     pb_criterion_name((pb_criterion)k), t);
					*mapped = true;
				}
		}
		s = nl ? nl + 1 : NULL;
	}
	if (*coverage >= 0)
		cJSON_AddNumberToObject(jwf, "coverage", *coverage);
}

/* Finds the run: newest matching, created at/after `since` - skew, not claimed earlier. 0 = none yet. */
static int wf_find_run(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, const char *event,
		       const char *title, int64_t since, pb_github_run *run, pb_err *e)
{
	pb_github_run *v = NULL;
	size_t n = 0;
	int r = pb_github_runs_list(ctx->svc->github, c->github_repo, c->validation.wf_file, event, 100, &v, &n, e);

	run->id = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (v[i].created_at < since - SKEW_S)
			continue;
		if (title && strcmp(v[i].display_title, title) != 0)
			continue;
		if (run_claimed(ctx, p, v[i].id))
			continue;
		*run = v[i];
		break;
	}
	free(v);
	return r;
}

typedef struct wf_state {
	pb_github_run run;
	bool found;
	bool timed_out;
	char error[600];
} wf_state;

/* Polls for the run to appear, then until it completes; bounded by timeout_s. */
static void wf_poll(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, const char *event,
		    const char *title, int64_t since, wf_state *ws)
{
	const pb_validation_cfg *vc = &c->validation;
	const pb_clock *clk = ctx->svc->clock;
	int64_t deadline = pb_clock_mono_ms(clk) + (int64_t)vc->timeout_s * 1000;
	char last[64] = "";
	pb_err e;
	int r;

	pb_err_init(&e);
	for (;;) {
		char now_st[64];

		if (!ws->found) {
			r = wf_find_run(ctx, c, p, event, title, since, &ws->run, &e);
			ws->found = r == 0 && ws->run.id != 0;
		} else {
			r = pb_github_run_get(ctx->svc->github, c->github_repo, ws->run.id, &ws->run, &e);
		}
		if (r) {
			snprintf(ws->error, sizeof(ws->error), "GitHub failed while %s: %s",
				 ws->found ? "polling the workflow run" : "looking for the workflow run", pb_err_text(&e));
			return;
		}
		if (ws->found && strcmp(ws->run.status, "completed") == 0)
			return;
		if (pb_clock_mono_ms(clk) + (int64_t)vc->poll_s * 1000 > deadline) {
			ws->timed_out = true;
			return;
		}
		snprintf(now_st, sizeof(now_st), "%s", ws->found ? ws->run.status : "waiting");
		if (strcmp(now_st, last) != 0) {
			char line[700];

			if (ws->found)
				snprintf(line, sizeof(line), "⏳ workflow %s run %" PRId64 " %s: %s", vc->wf_file, ws->run.id,
					 ws->run.status, ws->run.html_url);
			else
				snprintf(line, sizeof(line), "⏳ waiting for the %s run of %s to start", event, vc->wf_file);
			progress(ctx, p, line);
			pb_strlcpy(last, now_st, sizeof(last));
		}
		pb_clock_sleep_ms(clk, (int64_t)vc->poll_s * 1000);
	}
}

/* The latest workflow comment on the issue written at/after `since` (the run's start), or NULL. */
static pb_github_comment *wf_comment(pb_github_comment *v, size_t n, int64_t since)
{
	for (size_t i = n; i-- > 0;)
		if (v[i].body && strncmp(v[i].body, WF_MARKER, strlen(WF_MARKER)) == 0 && v[i].created_at >= since - SKEW_S)
			return &v[i];
	return NULL;
}

/* Every criterion this source has not judged yet gets `st` with `why`. */
static void all_crit(pb_vsource_out *out, pb_vstate st, const char *why)
{
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		if (out->crit[k].state == PB_V_NONE)
			vset(&out->crit[k], st, "%s: %s", pb_criterion_name((pb_criterion)k), why);
}

/* Issue mode: the verdict needs the run's conclusion AND the comment AND the labels to agree. */
static int wf_issue_verdict(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, int threshold,
			    const wf_state *ws, pb_vsource_out *out, cJSON *jwf)
{
	pb_github_comment *comments = NULL, *cm;
	pb_github_issue issue;
	size_t n = 0;
	double cov = -1;
	bool mapped = false, success = strcmp(ws->run.conclusion, "success") == 0, blocked, in_review;
	pb_err e;
	int r;

	pb_err_init(&e);
	memset(&issue, 0, sizeof(issue));
	r = pb_github_comments_list(ctx->svc->github, c->github_repo, p->issue_number, &comments, &n, &e);
	if (!r)
		r = pb_github_issue_get(ctx->svc->github, c->github_repo, p->issue_number, &issue, &e);
	if (r) {
		char why[700];

		snprintf(why, sizeof(why), "GitHub failed while reading the workflow's answer on issue #%" PRId64 ": %s",
			 p->issue_number, pb_err_text(&e));
		vset(&out->gate, PB_V_FAIL, "workflow: %s (run %s)", why, ws->run.html_url);
		all_crit(out, PB_V_FAIL, why);
		cJSON_AddStringToObject(jwf, "error", why);
		r = r == -ENOMEM ? r : 0;
		goto out;
	}
	blocked = pb_github_issue_has_label(&issue, LABEL_BLOCKED);
	in_review = pb_github_issue_has_label(&issue, LABEL_IN_REVIEW);
	cJSON_AddStringToObject(jwf, "label", blocked ? LABEL_BLOCKED : in_review ? LABEL_IN_REVIEW : "");
	cm = wf_comment(comments, n, ws->run.created_at);
	if (cm) {
		cJSON_AddStringToObject(jwf, "comment_url", cm->html_url);
		wf_read_comment(cm->body, jwf, &cov, out, &mapped);
	}
	if (!success) {
		if (!cm)
			vset(&out->gate, PB_V_FAIL, "workflow %s before commenting: %s", ws->run.conclusion,
			     ws->run.html_url);
		else
			vset(&out->gate, PB_V_FAIL, "workflow %s: %s", ws->run.conclusion, ws->run.html_url);
	} else if (!cm) {
		vset(&out->gate, PB_V_FAIL, "workflow succeeded but left no \"%s\" comment on #%" PRId64 ": %s",
		     "Automated Promotion Validation", p->issue_number, ws->run.html_url);
	} else if (blocked) {
		vset(&out->gate, PB_V_FAIL, "workflow succeeded but labeled #%" PRId64 " %s: %s", p->issue_number,
		     LABEL_BLOCKED, cm->html_url);
	} else if (!in_review) {
		vset(&out->gate, PB_V_FAIL, "workflow succeeded but #%" PRId64 " carries neither %s nor %s: %s",
		     p->issue_number, LABEL_IN_REVIEW, LABEL_BLOCKED, ws->run.html_url);
	} else {
		vset(&out->gate, PB_V_PASS, "workflow passed (%s): %s", LABEL_IN_REVIEW, cm->html_url);
	}
	if (out->gate.state == PB_V_PASS) {
		if (cov >= 0)
			vset(&out->crit[PB_CRIT_COVERAGE], cov >= threshold ? PB_V_PASS : PB_V_FAIL,
			     "coverage %.1f%% %s %d%% (workflow)", cov, cov >= threshold ? "≥" : "<", threshold);
		{
			char why[600];

			snprintf(why, sizeof(why), "passed by the workflow (%s)", ws->run.html_url);
			all_crit(out, PB_V_PASS, why);
		}
	} else if (!mapped) {
		all_crit(out, PB_V_FAIL, out->gate.summary);
	}
	out->coverage = cov;
out:
	pb_github_comments_free(comments, n);
	pb_github_issue_deinit(&issue);
	return r;
}

int pb_vsrc_github_workflow(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, int threshold,
			    pb_vsource_out *out)
{
	const pb_validation_cfg *vc = &c->validation;
	cJSON *jwf = out->json;
	pb_promotion now;        /* p re-read after delivering (issue mode) */
	wf_state ws;
	int64_t since;
	char why[800];
	bool dispatch = vc->wf_mode == PB_WF_DISPATCH;
	int r = 0;

	memset(&ws, 0, sizeof(ws));
	cJSON_AddStringToObject(jwf, "mode", dispatch ? "dispatch" : "issue");
	cJSON_AddStringToObject(jwf, "workflow", vc->wf_file);
	out->has_gate = true;
	if (!ctx->svc->github) {
		vset(&out->gate, PB_V_FAIL, "workflow: GitHub is not configured (no github section)");
		all_crit(out, PB_V_FAIL, "GitHub is not configured");
		return 0;
	}
	if (dispatch) {
		cJSON *inputs = cJSON_CreateObject();
		pb_err e;

		pb_err_init(&e);
		cJSON_AddStringToObject(inputs, "component", c->id);
		cJSON_AddStringToObject(inputs, "target_stage", pb_stage_name((pb_stage)p->target_stage));
		for (size_t i = 0; i < vc->wf_ninputs; i++)
			cJSON_AddStringToObject(inputs, vc->wf_input_names[i], vc->wf_input_values[i]);
		since = pb_services_now(ctx->svc);
		r = pb_github_workflow_dispatch(ctx->svc->github, c->github_repo, vc->wf_file, vc->wf_ref, inputs, &e);
		cJSON_Delete(inputs);
		if (r) {
			snprintf(why, sizeof(why), "cannot dispatch %s on %s: %s", vc->wf_file, vc->wf_ref, pb_err_text(&e));
			goto fail;
		}
		wf_poll(ctx, c, p, "workflow_dispatch", NULL, since, &ws);
	} else {
		pb_github_issue issue;
		pb_err e;

		/*
		 * The workflow runs when the issue opens or is labelled promotion:requested, and
		 * re-validating put that label back in this command's transition: what is owed on
		 * GitHub goes out first, so the run it starts is the one waited for. Without this,
		 * `promobot exec` (it delivers after its command) waited for a run nothing started,
		 * and the bot only by luck of its delivery timer. Safe next to that timer: ops are leased.
		 */
		pb_err_init(&e);
		if (pb_ghout_deliver(ctx->svc, 0, NULL, &e))
			pb_warn("validate", "%s: GitHub updates before waiting for the workflow: %s", c->id,
				pb_err_text(&e));
		pb_err_init(&e);
		if (pb_store_promotion_get(ctx->svc->store, p->id, &now, &e) == 0)
			p = &now; /* the issue may have been opened just now */
		pb_err_init(&e);
		if (p->issue_number <= 0) {
			snprintf(why, sizeof(why), "waiting for the promotion issue: it is not on GitHub yet, so its "
				 "validation workflow has not run — validate again once the issue is open");
			goto fail;
		}
		cJSON_AddNumberToObject(jwf, "issue", (double)p->issue_number);
		/* The run is found by the issue's title (GitHub shows it as the run's display_title). */
		memset(&issue, 0, sizeof(issue));
		r = pb_github_issue_get(ctx->svc->github, c->github_repo, p->issue_number, &issue, &e);
		if (r) {
			snprintf(why, sizeof(why), "cannot read promotion issue #%" PRId64 ": %s", p->issue_number,
				 pb_err_text(&e));
			pb_github_issue_deinit(&issue);
			goto fail;
		}
		since = p->created_at;
		wf_poll(ctx, c, p, "issues", issue.title ? issue.title : "", since, &ws);
		pb_github_issue_deinit(&issue);
	}
	if (ws.found) {
		cJSON_AddNumberToObject(jwf, "run_id", (double)ws.run.id);
		cJSON_AddStringToObject(jwf, "run_url", ws.run.html_url);
		cJSON_AddStringToObject(jwf, "status", ws.run.status);
		cJSON_AddStringToObject(jwf, "conclusion", ws.run.conclusion);
		if (ws.run.head_sha[0])
			pb_strlcpy(out->revision, ws.run.head_sha, sizeof(out->revision));
	}
	if (ws.error[0]) {
		snprintf(why, sizeof(why), "%s%s%s", ws.error, ws.found ? " — run " : "", ws.found ? ws.run.html_url : "");
		goto fail;
	}
	if (ws.timed_out) {
		if (ws.found)
			snprintf(why, sizeof(why), "workflow run still %s after %d s (timeout): %s", ws.run.status,
				 vc->timeout_s, ws.run.html_url);
		else
			snprintf(why, sizeof(why), "no %s run of %s appeared within %d s (timeout)",
				 dispatch ? "workflow_dispatch" : "issues", vc->wf_file, vc->timeout_s);
		cJSON_AddBoolToObject(jwf, "timed_out", 1);
		goto fail;
	}
	pb_info("validate", "%s: workflow run %" PRId64 " %s", c->id, ws.run.id, ws.run.conclusion);
	if (!dispatch)
		return wf_issue_verdict(ctx, c, p, threshold, &ws, out, jwf);
	if (strcmp(ws.run.conclusion, "success") == 0) {
		vset(&out->gate, PB_V_PASS, "workflow passed: %s", ws.run.html_url);
		snprintf(why, sizeof(why), "passed by the workflow (%s)", ws.run.html_url);
		all_crit(out, PB_V_PASS, why);
	} else {
		vset(&out->gate, PB_V_FAIL, "workflow %s: %s", ws.run.conclusion, ws.run.html_url);
		all_crit(out, PB_V_FAIL, out->gate.summary);
	}
	return 0;
fail:
	cJSON_AddStringToObject(jwf, "error", why);
	vset(&out->gate, PB_V_FAIL, "workflow: %s", why);
	all_crit(out, PB_V_FAIL, why);
	return r == -ENOMEM ? r : 0;
}
