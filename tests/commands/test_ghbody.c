/* test_ghbody.c — issue-form bodies against golden files, the workflow's own parse of them, escaping, severity, the label table. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ghform.h"
#include "harness.h"
#include "pb_file.h"
#include "pb_ghbody.h"
#include "pb_workflow.h"

/*
 * Golden files live in tests/commands/golden/ghbody. PROMOBOT_GOLDEN_UPDATE=1
 * rewrites them from the builders (then read the diff before committing).
 */
static void expect_golden(const char *name, const char *got)
{
	char path[512];
	pb_buf b;
	pb_err e;

	snprintf(path, sizeof(path), "%s/ghbody/%s", GOLDEN_DIR, name);
	if (getenv("PROMOBOT_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "w");

		cr_assert_not_null(f, "cannot write %s", path);
		fputs(got, f);
		fclose(f);
	}
	pb_buf_init(&b);
	pb_err_init(&e);
	cr_assert_eq(pb_file_read(path, 1 << 20, &b, &e), 0, "%s", pb_err_text(&e));
	cr_expect_str_eq(got, pb_buf_str(&b), "%s differs; got:\n%s", name, got);
	pb_buf_deinit(&b);
}

/* The workflow's three fields as its regexes read them; each must be found and equal. */
static void expect_form_fields(const char *body, const char *component, const char *current, const char *target)
{
	char v[256];

	cr_assert(ghform_field(body, "Component Name", v, sizeof(v)));
	cr_expect_str_eq(v, component);
	cr_assert(ghform_field(body, "Current Stage", v, sizeof(v)));
	cr_expect_str_eq(v, current);
	cr_assert(ghform_field(body, "Target Stage", v, sizeof(v)));
	cr_expect_str_eq(v, target);
}

static const pb_component *component(th *h, const char *id)
{
	const pb_component *c = pb_config_component(h->cfg, id);

	cr_assert_not_null(c);
	return c;
}

static void add_blocker(th *h, const char *comp, pb_severity sev, const char *text, int64_t issue)
{
	pb_blocker b = { 0 };
	pb_err e;

	pb_err_init(&e);
	pb_strlcpy(b.component, comp, sizeof(b.component));
	b.severity = sev;
	pb_strlcpy(b.text, text, sizeof(b.text));
	pb_strlcpy(b.opened_by, "alice", sizeof(b.opened_by));
	b.opened_at = th_now(h);
	b.issue_number = issue;
	cr_assert_eq(pb_store_blocker_add(h->store, &b, &e), 0, "%s", pb_err_text(&e));
}

static void body_of(th *h, const pb_component *c, const pb_promotion *p, const char *marker, pb_buf *out)
{
	pb_err e;

	pb_err_init(&e);
	pb_buf_reset(out);
	cr_assert_eq(pb_ghbody_promotion_body(&h->svc, c, p, marker, out, &e), 0, "%s", pb_err_text(&e));
}

/* graph-api (depends on neo4j, now in Staging) requested for staging, with two open blockers. */
Test(ghbody, promotion_body_before_and_after_validation)
{
	const pb_component *c;
	pb_promotion p;
	pb_buf body;
	pb_err e;
	th h;

	th_setup(&h, NULL);
	pb_err_init(&e);
	pb_buf_init(&body);
	cr_assert_eq(pb_store_component_ensure(h.store, "neo4j", 0, th_now(&h), &e), 0);
	cr_assert_eq(pb_store_component_set_stage(h.store, "neo4j", PB_STAGE_STAGING, th_now(&h), &e), 0);
	cr_assert_eq(th_run(&h, "alice", "/promote request graph-api staging Ready: 90% coverage, API frozen."), 0,
		     "%s", th_out(&h));
	add_blocker(&h, "graph-api", PB_SEV_CRITICAL, "Schema migration `v2` not reviewed", 42);
	add_blocker(&h, "graph-api", PB_SEV_MEDIUM, "Docs: *quick start* missing", 0);
	c = component(&h, "graph-api");
	cr_assert_eq(pb_store_promotion_open_for(h.store, "graph-api", &p, &e), 0);

	body_of(&h, c, &p, "promobot:op=7", &body);
	expect_golden("promotion_before.md", pb_buf_str(&body));
	expect_form_fields(pb_buf_str(&body), "Graph API", "Development", "Staging");
	cr_expect_eq(ghform_occurrences(pb_buf_str(&body), "- [X]"), 0, "nothing is ticked before a validation");

	cr_assert_eq(th_run(&h, "alice", "/promote validate graph-api"), 0, "%s", th_out(&h));
	body_of(&h, c, &p, "<!-- promobot:op=8 -->", &body);
	expect_golden("promotion_after.md", pb_buf_str(&body));
	expect_form_fields(pb_buf_str(&body), "Graph API", "Development", "Staging");
	/* tests+coverage and lint+types+security passed: exactly those two items of the dev → staging list */
	cr_expect_eq(ghform_occurrences(pb_buf_str(&body), "- [X]"), 2);
	cr_expect(strstr(pb_buf_str(&body), "- [X] Unit tests passing (≥70% coverage for core paths)\n"));
	cr_expect(strstr(pb_buf_str(&body), "**Test Coverage**: 90.0%\n"));
	cr_expect(strstr(pb_buf_str(&body), "- Issue #42: Schema migration `v2` not reviewed (critical)\n"));
	cr_expect(strstr(pb_buf_str(&body), "- Neo4j (Staging)\n"));
	pb_buf_deinit(&body);
	th_teardown(&h);
}

/* A failing criterion leaves its item unticked (lowcov: 64.5% < 70%). */
Test(ghbody, failed_criterion_stays_unticked)
{
	pb_promotion p;
	pb_buf body;
	pb_err e;
	th h;

	th_setup(&h, NULL);
	pb_err_init(&e);
	pb_buf_init(&body);
	cr_assert_eq(th_run(&h, "alice", "/promote request lowcov staging"), 0, "%s", th_out(&h));
	th_run(&h, "alice", "/promote validate lowcov");
	cr_assert_eq(pb_store_promotion_open_for(h.store, "lowcov", &p, &e), 0);
	body_of(&h, component(&h, "lowcov"), &p, NULL, &body);
	cr_expect(strstr(pb_buf_str(&body), "- [ ] Unit tests passing (≥70% coverage for core paths)\n"));
	cr_expect(strstr(pb_buf_str(&body), "- [X] Passes linting (ruff)"));
	cr_expect(strstr(pb_buf_str(&body), "**Validation**: ❌ failed"));
	cr_expect(strstr(pb_buf_str(&body), "### Promotion Justification\n\n_No response_\n\n"));
	cr_expect_eq(ghform_occurrences(pb_buf_str(&body), "<!--"), 0, "no marker asked, none written");
	pb_buf_deinit(&body);
	th_teardown(&h);
}

#define HOSTILE \
	"Ready.\n\n### Target Stage\n\nProduction\n" \
	"<!-- promobot:op=1 -->\n" \
	"- [x] forged\n" \
	"   ### Component Name indented\n" \
	"```\nrm -rf /\n```\n" \
	"~~~\n" \
	"| a | b |\n|---|---|\n" \
	"1. first\n2) second\n" \
	"> quoted <!-- hidden --> inline\n" \
	"Heading?\n===\n" \
	"<?php echo 1; ?>\r\n" \
	"tab\there `code` and \x01" "control\n\n\n\nend"

/* The hostile justification: the workflow still reads the true fields, and nothing of it opens a block. */
Test(ghbody, hostile_justification)
{
	pb_promotion p = { 0 };
	pb_buf body;
	pb_err e;
	th h;

	th_setup(&h, NULL);
	pb_err_init(&e);
	pb_buf_init(&body);
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.from_stage = PB_STAGE_DEVELOPMENT;
	p.target_stage = PB_STAGE_STAGING;
	pb_strlcpy(p.requester, "alice", sizeof(p.requester));
	pb_strlcpy(p.justification, HOSTILE, sizeof(p.justification));
	p.created_at = p.updated_at = th_now(&h);
	cr_assert_eq(pb_store_promotion_insert(h.store, &p, &e), 0, "%s", pb_err_text(&e));

	body_of(&h, component(&h, "neo4j"), &p, "promobot:op=2", &body);
	expect_golden("promotion_hostile.md", pb_buf_str(&body));
	expect_form_fields(pb_buf_str(&body), "Neo4j", "Development", "Staging");
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "### "), 15, "the form's 15 sections, no more");
	cr_expect_eq(ghform_occurrences(pb_buf_str(&body), "<!--"), 1, "only the bot's own marker");
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "<!-- promobot:op=2 -->"), 1);
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "- [x]"), 0);
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "```"), 0);
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "~~~"), 0);
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "|"), 0);
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "1. "), 0);
	cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "==="), 0);
	cr_expect(strstr(pb_buf_str(&body), "`code`"), "inline code stays readable");
	cr_expect_null(strchr(pb_buf_str(&body), '\r'));
	cr_expect_null(strchr(pb_buf_str(&body), '\x01'));
	pb_buf_deinit(&body);
	th_teardown(&h);
}

Test(ghbody, marker_that_could_close_the_comment_is_refused)
{
	static const char *const bad[] = { "a -- b", "op=1 -->x", "line\nbreak", "x>y", "   " };
	pb_promotion p = { 0 };
	pb_buf body;
	pb_err e;
	th h;

	th_setup(&h, NULL);
	pb_buf_init(&body);
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.target_stage = PB_STAGE_STAGING;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pb_err_init(&e);
		pb_buf_reset(&body);
		cr_expect_lt(pb_ghbody_promotion_body(&h.svc, component(&h, "neo4j"), &p, bad[i], &body, &e), 0,
			     "marker \"%s\" accepted", bad[i]);
	}
	pb_buf_deinit(&body);
	th_teardown(&h);
}

Test(ghbody, titles)
{
	const pb_component *c;
	pb_promotion p = { 0 };
	pb_blocker b = { 0 };
	char text[PB_TEXT_MAX];
	pb_buf t;
	th h;

	th_setup(&h, NULL);
	pb_buf_init(&t);
	c = component(&h, "neo4j");
	p.from_stage = PB_STAGE_DEVELOPMENT;
	p.target_stage = PB_STAGE_STAGING;
	cr_assert_eq(pb_ghbody_promotion_title(c, &p, &t), 0);
	cr_expect_str_eq(pb_buf_str(&t), "[PROMOTION] Neo4j: Development → Staging");

	pb_buf_reset(&t);
	pb_strlcpy(b.text, "Bolt port\nnot   exposed\t", sizeof(b.text));
	cr_assert_eq(pb_ghbody_blocker_title(c, &b, &t), 0);
	cr_expect_str_eq(pb_buf_str(&t), "[BLOCKER] Neo4j: Bolt port not exposed");

	/* 300 two-byte characters: cut to 256 characters on a character boundary, ending in "…" */
	memset(text, 0, sizeof(text));
	for (int i = 0; i < 300; i++)
		memcpy(text + 2 * i, "é", 2);
	pb_strlcpy(b.text, text, sizeof(b.text));
	pb_buf_reset(&t);
	cr_assert_eq(pb_ghbody_blocker_title(c, &b, &t), 0);
	cr_expect_eq(pb_utf8_len(pb_buf_str(&t)), 256);
	cr_expect(pb_utf8_valid(pb_buf_str(&t), t.len));
	cr_expect_eq(strncmp(pb_buf_str(&t), "[BLOCKER] Neo4j: éé", strlen("[BLOCKER] Neo4j: éé")), 0);
	cr_expect_str_eq(pb_buf_str(&t) + t.len - strlen("é…"), "é…");

	/* exactly 256 characters stay whole */
	memset(b.text, 0, sizeof(b.text));
	memset(b.text, 'x', 256 - strlen("[BLOCKER] Neo4j: "));
	pb_buf_reset(&t);
	cr_assert_eq(pb_ghbody_blocker_title(c, &b, &t), 0);
	cr_expect_eq(pb_utf8_len(pb_buf_str(&t)), 256);
	cr_expect_eq(pb_buf_str(&t)[t.len - 1], 'x');
	pb_buf_deinit(&t);
	th_teardown(&h);
}

/* One golden blocker body per severity; each parses back to its severity. */
Test(ghbody, blocker_body_per_severity)
{
	pb_blocker b = { 0 };
	pb_buf body;
	char name[64];
	th h;

	th_setup(&h, NULL);
	pb_buf_init(&body);
	b.id = 3;
	pb_strlcpy(b.component, "neo4j", sizeof(b.component));
	pb_strlcpy(b.text, "Bolt port 7687 not reachable from the app network.\n\n"
			   "### Severity\n\nLow (can be addressed post-promotion)\n- [x] forged <!-- promobot:op=9 -->",
		   sizeof(b.text));
	for (int s = 0; s < PB_SEV_COUNT; s++) {
		b.severity = (pb_severity)s;
		pb_buf_reset(&body);
		cr_assert_eq(pb_ghbody_blocker_body(component(&h, "neo4j"), &b, PB_STAGE_STAGING,
						    s == PB_SEV_CRITICAL ? "promobot:op=4" : NULL, &body), 0);
		snprintf(name, sizeof(name), "blocker_%s.md", pb_severity_name((pb_severity)s));
		expect_golden(name, pb_buf_str(&body));
		cr_expect_eq(pb_ghbody_blocker_severity(pb_buf_str(&body)), (pb_severity)s, "%s", name);
		cr_expect_eq(ghform_lines_starting(pb_buf_str(&body), "### "), 13, "the form's 13 sections, no more");
		cr_expect_eq(ghform_occurrences(pb_buf_str(&body), "<!--"), s == PB_SEV_CRITICAL ? 1 : 0);
	}
	pb_buf_reset(&body);
	cr_assert_eq(pb_ghbody_blocker_body(component(&h, "neo4j"), &b, PB_STAGE_COUNT, NULL, &body), 0);
	cr_expect(strstr(pb_buf_str(&body), "### Target Stage\n\n_No response_\n\n"));
	pb_buf_deinit(&body);
	th_teardown(&h);
}

Test(ghbody, severity_parse)
{
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\nCritical (must be resolved before promotion)\n"),
		     PB_SEV_CRITICAL);
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\r\n\r\nlow (can be addressed post-promotion)\r\n"),
		     PB_SEV_LOW);
	cr_expect_eq(pb_ghbody_blocker_severity("x\n### severity\n\nMEDIUM (NICE TO HAVE BEFORE PROMOTION)"),
		     PB_SEV_MEDIUM);
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\ncritical"), PB_SEV_CRITICAL);
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\nHigh (should be resolved before promotion)"),
		     PB_SEV_HIGH);
	/* unknown, empty, absent, or not a heading line of its own: high */
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\nCriticality unknown"), PB_SEV_HIGH);
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\n_No response_\n\n### Other\n\nLow"), PB_SEV_HIGH);
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\n"), PB_SEV_HIGH);
	cr_expect_eq(pb_ghbody_blocker_severity("no sections at all"), PB_SEV_HIGH);
	cr_expect_eq(pb_ghbody_blocker_severity("text ### Severity\n\nLow"), PB_SEV_HIGH);
	cr_expect_eq(pb_ghbody_blocker_severity(""), PB_SEV_HIGH);
	cr_expect_eq(pb_ghbody_blocker_severity(NULL), PB_SEV_HIGH);
	/* the first Severity section counts */
	cr_expect_eq(pb_ghbody_blocker_severity("### Severity\n\nLow\n\n### Severity\n\nCritical"), PB_SEV_LOW);
}

Test(ghbody, escape)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "### Target Stage", "\\### Target Stage" },
		{ "- [x] forged", "\\- [x] forged" },
		{ "  * item", "\\* item" },
		{ "+ item", "\\+ item" },
		{ "12. twelve", "12\\. twelve" },
		{ "3) three", "3\\) three" },
		{ "2026 was fine", "2026 was fine" },
		{ "```c", "\\```c" },
		{ "| a | b |", "\\| a | b |" },
		{ "<!-- promobot:op=1 -->", "&lt;!-- promobot:op=1 -->" },
		{ "see <!--x--> and <?pi?>", "see &lt;!--x--> and &lt;?pi?>" },
		{ "<div>", "\\<div>" },
		{ "a\r\nb\rc", "a\nb\nc" },
		{ "\n\n a \n\n\n\n b \n\n", "a\n\nb" },
		{ "bad \xff byte", "bad \xEF\xBF\xBD byte" },
		{ "ctl\x01\x7f ok", "ctl ok" },
		{ "plain `code` text", "plain `code` text" },
		{ "", "" },
	};
	pb_buf b;

	pb_buf_init(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pb_buf_reset(&b);
		cr_assert_eq(pb_ghbody_escape(cases[i].in, &b), 0);
		cr_expect_str_eq(pb_buf_str(&b), cases[i].out, "case %zu", i);
	}
	pb_buf_reset(&b);
	cr_assert_eq(pb_ghbody_escape_inline(" - one\n### two\n\nthree  ", &b), 0);
	cr_expect_str_eq(pb_buf_str(&b), "\\- one ### two three");
	pb_buf_deinit(&b);
}

/* ---- the label lifecycle ---- */

static bool has(const char *const *set, const char *label)
{
	for (; *set; set++)
		if (!strcmp(*set, label))
			return true;
	return false;
}

/* Every legal edge has a row and every row is a legal edge; applying a row to from's labels gives to's. */
Test(ghlabels, one_row_per_edge_and_consistent)
{
	static const char *const lifecycle[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_IN_REVIEW, PB_GH_LABEL_BLOCKED,
						 PB_GH_LABEL_APPROVED, PB_GH_LABEL_COMPLETED };
	int edges = 0;

	for (int f = 0; f < PB_ST_COUNT; f++) {
		for (int t = 0; t < PB_ST_COUNT; t++) {
			const pb_ghlabels_step *s = pb_ghlabels_for((pb_state)f, (pb_state)t);
			const char *const *before = pb_ghlabels_expected((pb_state)f);
			const char *const *after = pb_ghlabels_expected((pb_state)t);
			const char *fn = pb_state_name((pb_state)f), *tn = pb_state_name((pb_state)t);

			cr_expect_eq(s != NULL, pb_workflow_allowed((pb_state)f, (pb_state)t),
				     "%s → %s: label row and state machine disagree", fn, tn);
			if (!s)
				continue;
			edges++;
			for (size_t k = 0; k < sizeof(lifecycle) / sizeof(lifecycle[0]); k++) {
				const char *l = lifecycle[k];
				bool on = (has(before, l) && !has(s->remove, l)) || has(s->add, l);

				cr_expect_eq(on, has(after, l), "%s → %s leaves %s %s", fn, tn, l, on ? "on" : "off");
				cr_expect(!(has(s->add, l) && has(before, l)), "%s → %s adds %s again", fn, tn, l);
				cr_expect(!(has(s->remove, l) && !has(before, l)), "%s → %s removes absent %s", fn, tn, l);
			}
			cr_expect_eq(s->close_reason != NULL, !pb_state_is_open((pb_state)t) &&
				     t != PB_ST_FAILED && t != PB_ST_ROLLED_BACK, "%s → %s close", fn, tn);
		}
	}
	cr_expect_eq(edges, 21);
}

Test(ghlabels, the_lifecycle_as_the_issue_says)
{
	const pb_ghlabels_step *s;

	s = pb_ghlabels_for(PB_ST_VALIDATING, PB_ST_IN_REVIEW);
	cr_assert_not_null(s);
	cr_expect(has(s->add, PB_GH_LABEL_IN_REVIEW) && has(s->remove, PB_GH_LABEL_REQUESTED));
	s = pb_ghlabels_for(PB_ST_VALIDATING, PB_ST_BLOCKED);
	cr_expect(has(s->add, PB_GH_LABEL_BLOCKED));
	s = pb_ghlabels_for(PB_ST_IN_REVIEW, PB_ST_APPROVED);
	cr_expect(has(s->add, PB_GH_LABEL_APPROVED) && has(s->remove, PB_GH_LABEL_IN_REVIEW));
	cr_expect_null(s->close_reason);
	s = pb_ghlabels_for(PB_ST_OBSERVING, PB_ST_COMPLETED);
	cr_expect(has(s->add, PB_GH_LABEL_COMPLETED));
	cr_expect_str_eq(s->close_reason, "completed");
	for (int f = 0; f < PB_ST_COUNT; f++) {
		s = pb_ghlabels_for((pb_state)f, PB_ST_CANCELLED);
		if (s)
			cr_expect_str_eq(s->close_reason, "not_planned");
	}
	s = pb_ghlabels_for(PB_ST_DEPLOYING, PB_ST_FAILED);
	cr_expect(s->comment && has(s->add, PB_GH_LABEL_BLOCKED) && !s->close_reason);
	s = pb_ghlabels_for(PB_ST_OBSERVING, PB_ST_ROLLED_BACK);
	cr_expect(s->comment && has(s->add, PB_GH_LABEL_BLOCKED) && !s->close_reason);
	s = pb_ghlabels_for(PB_ST_OBSERVING, PB_ST_FAILED);
	cr_expect(s->comment && has(s->add, PB_GH_LABEL_BLOCKED));
	/* no label of its own while deploying / observing; nothing for an edge the machine lacks */
	cr_expect_null(pb_ghlabels_for(PB_ST_APPROVED, PB_ST_DEPLOYING)->add[0]);
	cr_expect_null(pb_ghlabels_for(PB_ST_DEPLOYING, PB_ST_OBSERVING)->add[0]);
	cr_expect_null(pb_ghlabels_for(PB_ST_REQUESTED, PB_ST_APPROVED));
	cr_expect_null(pb_ghlabels_expected(PB_ST_CANCELLED)[0]);
	cr_expect_str_eq(pb_ghlabels_expected(PB_ST_REQUESTED)[0], PB_GH_LABEL_REQUESTED);
}

Test(ghlabels, styles)
{
	static const char *const names[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_IN_REVIEW, PB_GH_LABEL_BLOCKED,
					     PB_GH_LABEL_APPROVED, PB_GH_LABEL_COMPLETED, "component:neo4j",
					     "target:staging", "target:production", "something-else" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *color = NULL, *desc = NULL;

		pb_ghlabels_style(names[i], &color, &desc);
		cr_assert_not_null(color);
		cr_assert_not_null(desc);
		cr_expect_eq(strlen(color), 6, "%s", names[i]);
		cr_expect_eq(strspn(color, "0123456789abcdef"), 6, "%s: %s", names[i], color);
		/* GitHub caps a label description at 100 characters */
		cr_expect_leq(pb_utf8_len(desc), 100);
		if (i < 8)
			cr_expect_gt(strlen(desc), 0, "%s has no description", names[i]);
	}
	{
		const char *color, *desc;

		pb_ghlabels_style(PB_GH_LABEL_BLOCKED, &color, &desc);
		cr_expect_str_eq(color, "d93f0b");
		cr_expect_str_eq(desc, "Promotion blocked by issues");
	}
}
