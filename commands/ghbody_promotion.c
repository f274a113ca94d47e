/* ghbody_promotion.c — the "🚀 Component Promotion Request" issue: title and body exactly as the form renders them. */
#include "ghbody_priv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Field labels, their order and the checkbox texts are those of the TTA
 * repository's form, .github/ISSUE_TEMPLATE/component_promotion.yml
 * (theinterneti/TTA): the repository's validation workflow and its people
 * read the body by these words, so they are copied, not paraphrased.
 *
 * A checkbox is ticked only from what the latest stored validation measured:
 * `need` lists the criteria (pb_criterion names, or "staging_uptime") that
 * must all be "pass" in its "criteria" array. Items nothing measures (core
 * features, README, …) stay unticked for a person to tick.
 */
typedef struct form_item {
	const char *text;
	const char *need[4];
} form_item;

static const form_item dev_to_staging[] = {
	{ "Core features complete (80%+ of planned functionality)", { NULL } },
	{ "Unit tests passing (≥70% coverage for core paths)", { "tests", "coverage", NULL } },
	{ "API documented, no planned breaking changes", { NULL } },
	{ "Passes linting (ruff), type checking (pyright), security scan (bandit)", { "lint", "types", "security", NULL } },
	{ "Component README with usage examples", { NULL } },
	{ "All dependencies identified and stable", { NULL } },
	{ "Successfully integrates with dependent components in dev environment", { NULL } },
};

static const form_item staging_to_production[] = {
	{ "Integration tests passing (≥80% coverage)", { "tests", "coverage", NULL } },
	{ "Performance validated (meets defined SLAs)", { NULL } },
	{ "Security review completed, no critical vulnerabilities", { "security", NULL } },
	{ "7-day uptime in staging ≥99.5%", { "staging_uptime", NULL } },
	{ "Complete user documentation, API reference, troubleshooting guide", { NULL } },
	{ "Health checks, metrics, alerts configured", { NULL } },
	{ "Rollback procedure documented and tested", { NULL } },
	{ "Handles expected production load (if applicable)", { NULL } },
};

/* A promotion body names at most this many blockers (GitHub caps a body at 65536 characters). */
#define MAX_BLOCKERS_LISTED 40

int pb_ghbody_promotion_title(const pb_component *c, const pb_promotion *p, pb_buf *out)
{
	pb_buf t;
	int r;

	pb_buf_init(&t);
	r = pb_buf_printf(&t, "[PROMOTION] %s: %s → %s", c->name ? c->name : c->id,
			  pb_stage_title((pb_stage)p->from_stage), pb_stage_title((pb_stage)p->target_stage));
	if (!r)
		r = pb_ghbody_title(pb_buf_str(&t), out);
	pb_buf_deinit(&t);
	return r;
}

/* The "state" of criterion `name` in the validation's criteria array, NULL when absent. */
static const char *criterion_state(const cJSON *crit, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, crit) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "criterion");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "state");

		if (cJSON_IsString(n) && cJSON_IsString(st) && !strcmp(n->valuestring, name))
			return st->valuestring;
	}
	return NULL;
}

static bool item_met(const form_item *it, const cJSON *crit)
{
	if (!it->need[0] || !cJSON_IsArray(crit))
		return false;
	for (size_t k = 0; it->need[k]; k++) {
		const char *st = criterion_state(crit, it->need[k]);

		if (!st || strcmp(st, "pass"))
			return false;
	}
	return true;
}

/* One criteria list; ticks only for the list of the promotion's own step. */
static int criteria_section(pb_buf *out, const char *label, const form_item *items, size_t n, bool applies,
			    const cJSON *crit)
{
	int r = pb_buf_printf(out, "### %s\n\n", label);

	for (size_t i = 0; i < n && !r; i++)
		r = pb_ghbody_checkbox(out, applies && item_met(&items[i], crit), items[i].text);
	if (!r)
		r = pb_buf_puts(out, "\n");
	return r;
}

/* "**Test Coverage**: 85.0%" and one line per check of the validation; "" before any. */
static int test_results(const pb_validation *v, const cJSON *root, pb_buf *val)
{
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(root, "checks");
	const cJSON *it;
	char when[64];
	int r;

	pb_time_fmt(v->finished_at, when, sizeof(when));
	r = pb_buf_printf(val, "**Validation**: %s (%s)\n", v->passed ? "✅ passed" : "❌ failed", when);
	if (!r && v->revision[0]) {
		r = pb_buf_puts(val, "**Revision**: ");
		if (!r)
			r = pb_ghbody_escape_inline(v->revision, val);
		if (!r)
			r = pb_buf_puts(val, "\n");
	}
	/* the validation workflow's own wording for the figure */
	if (!r)
		r = v->coverage >= 0 ? pb_buf_printf(val, "**Test Coverage**: %.1f%%\n", v->coverage)
				     : pb_buf_puts(val, "**Test Coverage**: unknown\n");
	if (r || !cJSON_IsArray(checks) || !cJSON_GetArraySize(checks))
		return r;
	r = pb_buf_puts(val, "\n");
	cJSON_ArrayForEach(it, checks) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *crit = cJSON_GetObjectItemCaseSensitive(it, "criterion");
		const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(it, "outcome");
		const cJSON *passed = cJSON_GetObjectItemCaseSensitive(it, "passed");

		if (r)
			break;
		r = pb_buf_printf(val, "- %s ", cJSON_IsTrue(passed) ? "✅" : "❌");
		if (!r)
			r = pb_ghbody_escape_inline(cJSON_IsString(name) ? name->valuestring : "?", val);
		if (!r && cJSON_IsString(crit)) {
			r = pb_buf_puts(val, " (");
			if (!r)
				r = pb_ghbody_escape_inline(crit->valuestring, val);
			if (!r)
				r = pb_buf_puts(val, ")");
		}
		if (!r && cJSON_IsString(outcome) && *outcome->valuestring) {
			r = pb_buf_puts(val, ": ");
			if (!r)
				r = pb_ghbody_escape_inline(outcome->valuestring, val);
		}
		if (!r)
			r = pb_buf_puts(val, "\n");
	}
	return r;
}

/* "- Neo4j (Staging)" per dependency, stages as stored (config's initial stage before first use). */
static int dependencies(const pb_services *svc, const pb_component *c, pb_buf *val, pb_err *err)
{
	int r = 0;

	for (size_t i = 0; i < c->ndeps && !r; i++) {
		const pb_component *d = pb_config_component(svc->cfg, c->deps[i]);
		int stage = d ? (int)d->initial_stage : -1;

		r = pb_store_component_stage(svc->store, c->deps[i], &stage, err);
		if (r == PB_E_NOTFOUND)
			r = 0;
		if (r)
			break;
		r = pb_buf_puts(val, "- ");
		if (!r)
			r = pb_ghbody_escape_inline(d && d->name ? d->name : c->deps[i], val);
		if (!r)
			r = pb_buf_printf(val, " (%s)\n", stage >= 0 && stage < PB_STAGE_COUNT
							  ? pb_stage_title((pb_stage)stage) : "unknown");
	}
	return r;
}

/* "- Issue #12: text (critical)" per open blocker, most severe first; "- text (high)" without an issue. */
static int known_blockers(const pb_services *svc, const pb_component *c, pb_buf *val, pb_err *err)
{
	pb_blocker *bl = NULL;
	size_t n = 0;
	int r = pb_store_blockers_open(svc->store, c->id, &bl, &n, err);

	for (size_t i = 0; i < n && i < MAX_BLOCKERS_LISTED && !r; i++) {
		if (bl[i].issue_number > 0)
			r = pb_buf_printf(val, "- Issue #%lld: ", (long long)bl[i].issue_number);
		else
			r = pb_buf_puts(val, "- ");
		if (!r)
			r = pb_ghbody_escape_inline(bl[i].text, val);
		if (!r)
			r = pb_buf_printf(val, " (%s)\n", pb_severity_name(bl[i].severity));
	}
	if (!r && n > MAX_BLOCKERS_LISTED)
		r = pb_buf_printf(val, "- … and %zu more (/promote blockers %s)\n", n - MAX_BLOCKERS_LISTED, c->id);
	free(bl);
	return r;
}

/* Drops the value's final newline: a section's value ends where "\n\n" starts. */
static const char *value_of(pb_buf *b)
{
	while (b->len && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	return pb_buf_str(b);
}

int pb_ghbody_promotion_body(const pb_services *svc, const pb_component *c, const pb_promotion *p,
			     const char *marker, pb_buf *out, pb_err *err)
{
	pb_validation v;
	cJSON *root = NULL;
	const cJSON *crit = NULL;
	bool have_v = false;
	pb_buf val;
	int r;

	memset(&v, 0, sizeof(v));
	pb_buf_init(&val);
	r = pb_store_validation_latest(svc->store, p->id, &v, err);
	if (r == PB_E_NOTFOUND) {
		r = 0;
	} else if (!r) {
		have_v = true;
		root = cJSON_Parse(v.result_json ? v.result_json : "");
		crit = cJSON_GetObjectItemCaseSensitive(root, "criteria");
	}
	if (r)
		goto out;

	r = pb_ghbody_escape_inline(c->name ? c->name : c->id, &val);
	if (!r)
		r = pb_ghbody_section(out, "Component Name", value_of(&val));
	if (!r)
		r = pb_ghbody_section(out, "Current Stage", pb_stage_title((pb_stage)p->from_stage));
	if (!r)
		r = pb_ghbody_section(out, "Target Stage", pb_stage_title((pb_stage)p->target_stage));
	pb_buf_reset(&val);
	if (!r && c->group)
		r = pb_ghbody_escape_inline(c->group, &val);
	if (!r)
		r = pb_ghbody_section(out, "Functional Group", value_of(&val));
	pb_buf_reset(&val);
	if (!r)
		r = pb_ghbody_escape(p->justification, &val);
	if (!r)
		r = pb_ghbody_section(out, "Promotion Justification", value_of(&val));
	if (!r)
		r = criteria_section(out, "Development → Staging Criteria", dev_to_staging,
				     sizeof(dev_to_staging) / sizeof(dev_to_staging[0]),
				     have_v && p->from_stage == PB_STAGE_DEVELOPMENT, crit);
	if (!r)
		r = criteria_section(out, "Staging → Production Criteria", staging_to_production,
				     sizeof(staging_to_production) / sizeof(staging_to_production[0]),
				     have_v && p->from_stage == PB_STAGE_STAGING, crit);
	pb_buf_reset(&val);
	if (!r && have_v)
		r = test_results(&v, root, &val);
	if (!r)
		r = pb_ghbody_section(out, "Test Results", value_of(&val));
	if (!r)
		r = pb_ghbody_section(out, "Performance Metrics", NULL);
	if (!r)
		r = pb_ghbody_section(out, "Security Review", NULL);
	if (!r)
		r = pb_ghbody_section(out, "Documentation Links", NULL);
	pb_buf_reset(&val);
	if (!r)
		r = dependencies(svc, c, &val, err);
	if (!r)
		r = pb_ghbody_section(out, "Dependencies", value_of(&val));
	pb_buf_reset(&val);
	if (!r)
		r = known_blockers(svc, c, &val, err);
	if (!r)
		r = pb_ghbody_section(out, "Known Blockers", value_of(&val));
	if (!r)
		r = pb_ghbody_section(out, "Rollback Plan", NULL);
	if (!r)
		r = pb_ghbody_section(out, "Additional Context", NULL);
	if (!r)
		r = pb_ghbody_marker(out, marker);
	if (r == -EINVAL)
		pb_err_set(err, r, "hidden marker \"%s\" cannot be written as an HTML comment", marker);
out:
	cJSON_Delete(root);
	pb_validation_deinit(&v);
	pb_buf_deinit(&val);
	return r;
}
