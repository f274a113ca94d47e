/* ghbody_stub.c — minimal stand-ins for pb_ghbody.h: replaced at merge by branch ghbody. */
#include "pb_ghbody.h"

#include <errno.h>
#include <string.h>

/*
 * Replaced at merge by branch ghbody (the real issue-form bodies, escaping
 * and the label table). Simple but working, so the outbox's tests run:
 * nothing here is tested for its exact text.
 */

int pb_ghbody_promotion_title(const pb_component *c, const pb_promotion *p, pb_buf *out)
{
	return pb_buf_printf(out, "[PROMOTION] %s: %s → %s", c->name ? c->name : c->id,
			     pb_stage_title((pb_stage)p->from_stage), pb_stage_title((pb_stage)p->target_stage));
}

int pb_ghbody_escape(const char *text, pb_buf *out)
{
	for (const char *s = text ? text : ""; *s; s++) {
		int r = (*s == '#' || *s == '<' || *s == '>' || *s == '\\' || *s == '*' || *s == '_' || *s == '[' ||
			 *s == ']' || *s == '`')
				? pb_buf_printf(out, "\\%c", *s)
				: pb_buf_append(out, s, 1);
		if (r)
			return r;
	}
	return 0;
}

static int section(pb_buf *out, const char *label, const char *value)
{
	int r = pb_buf_printf(out, "### %s\n\n", label);

	if (r == 0)
		r = value && value[0] ? pb_ghbody_escape(value, out) : pb_buf_puts(out, "_No response_");
	return r ? r : pb_buf_puts(out, "\n\n");
}

int pb_ghbody_promotion_body(const pb_services *svc, const pb_component *c, const pb_promotion *p,
			     const char *marker, pb_buf *out, pb_err *err)
{
	pb_validation v;
	int r, have;

	have = pb_store_validation_latest(svc->store, p->id, &v, err);
	if (have < 0)
		return have;
	r = section(out, "Component Name", c->name ? c->name : c->id);
	if (r == 0)
		r = section(out, "Current Stage", pb_stage_title((pb_stage)p->from_stage));
	if (r == 0)
		r = section(out, "Target Stage", pb_stage_title((pb_stage)p->target_stage));
	if (r == 0)
		r = section(out, "Functional Group", c->group);
	if (r == 0)
		r = section(out, "Promotion Justification", p->justification);
	if (r == 0)
		r = pb_buf_printf(out, "### Criteria\n\n- [%c] Validation passed\n\n",
				  have == 0 && v.passed ? 'x' : ' ');
	if (have == 0)
		pb_validation_deinit(&v);
	if (r == 0 && marker)
		r = pb_buf_printf(out, "%s\n", marker);
	return r ? pb_err_set(err, -ENOMEM, "out of memory") : 0;
}

int pb_ghbody_blocker_title(const pb_component *c, const pb_blocker *b, pb_buf *out)
{
	return pb_buf_printf(out, "[BLOCKER] %s: %.200s", c->name ? c->name : c->id, b->text);
}

int pb_ghbody_blocker_body(const pb_component *c, const pb_blocker *b, pb_stage target, const char *marker,
			   pb_buf *out)
{
	int r = section(out, "Component Name", c->name ? c->name : c->id);

	if (r == 0)
		r = section(out, "Target Stage", target < PB_STAGE_COUNT ? pb_stage_title(target) : NULL);
	if (r == 0)
		r = section(out, "Severity", pb_severity_name(b->severity));
	if (r == 0)
		r = section(out, "Blocker Description", b->text);
	if (r == 0 && marker)
		r = pb_buf_printf(out, "%s\n", marker);
	return r;
}

pb_severity pb_ghbody_blocker_severity(const char *body)
{
	const char *s = body ? strstr(body, "### Severity\n\n") : NULL;
	pb_severity sev;
	char word[16];
	size_t n = 0;

	if (!s)
		return PB_SEV_HIGH;
	s += strlen("### Severity\n\n");
	while (s[n] && s[n] != '\n' && s[n] != ' ' && n < sizeof(word) - 1) {
		word[n] = (char)(s[n] >= 'A' && s[n] <= 'Z' ? s[n] + 32 : s[n]);
		n++;
	}
	word[n] = '\0';
	return pb_severity_parse(word, &sev) == 0 ? sev : PB_SEV_HIGH;
}

/* ---- the label table ---- */

#define L(...) { __VA_ARGS__, NULL }

static const pb_ghlabels_step steps[PB_ST_COUNT] = {
	[PB_ST_REQUESTED] = { L(PB_GH_LABEL_REQUESTED), L(NULL), NULL, false },
	[PB_ST_VALIDATING] = { L(NULL), L(NULL), NULL, false },
	[PB_ST_IN_REVIEW] = { L(PB_GH_LABEL_IN_REVIEW), L(PB_GH_LABEL_BLOCKED), NULL, false },
	[PB_ST_BLOCKED] = { L(PB_GH_LABEL_BLOCKED), L(PB_GH_LABEL_IN_REVIEW), NULL, false },
	[PB_ST_APPROVED] = { L(PB_GH_LABEL_APPROVED), L(PB_GH_LABEL_IN_REVIEW, PB_GH_LABEL_BLOCKED), NULL, false },
	[PB_ST_DEPLOYING] = { L(NULL), L(NULL), NULL, false },
	[PB_ST_OBSERVING] = { L(NULL), L(NULL), NULL, false },
	[PB_ST_COMPLETED] = { L(PB_GH_LABEL_COMPLETED), L(NULL), "completed", false },
	[PB_ST_FAILED] = { L(PB_GH_LABEL_BLOCKED), L(NULL), NULL, true },
	[PB_ST_ROLLED_BACK] = { L(PB_GH_LABEL_BLOCKED), L(NULL), NULL, true },
	[PB_ST_CANCELLED] = { L(NULL), L(NULL), "not_planned", false },
};

const pb_ghlabels_step *pb_ghlabels_for(pb_state from, pb_state to)
{
	(void)from;
	return (unsigned)to < PB_ST_COUNT ? &steps[to] : NULL;
}

const char *const *pb_ghlabels_expected(pb_state state)
{
	static const char *const none[] = { NULL };

	return (unsigned)state < PB_ST_COUNT ? steps[state].add : none;
}

void pb_ghlabels_style(const char *name, const char **color, const char **description)
{
	*color = strncmp(name, "promotion:", 10) == 0 ? "0e8a16" : strncmp(name, "component:", 10) == 0 ? "1d76db"
											      : "c5def5";
	*description = "Managed by promobot";
}
