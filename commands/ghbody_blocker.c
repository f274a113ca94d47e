/* ghbody_blocker.c — the "🚧 Component Promotion Blocker" issue: title, body as the form renders it, and its Severity read back. */
#include "ghbody_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * Labels, order and the Severity wordings are those of the TTA repository's
 * form, .github/ISSUE_TEMPLATE/promotion_blocker.yml (theinterneti/TTA).
 * Indexed by pb_severity.
 */
static const char *const severity_words[PB_SEV_COUNT] = {
	[PB_SEV_LOW] = "Low (can be addressed post-promotion)",
	[PB_SEV_MEDIUM] = "Medium (nice to have before promotion)",
	[PB_SEV_HIGH] = "High (should be resolved before promotion)",
	[PB_SEV_CRITICAL] = "Critical (must be resolved before promotion)",
};

int pb_ghbody_blocker_title(const pb_component *c, const pb_blocker *b, pb_buf *out)
{
	pb_buf t;
	int r;

	pb_buf_init(&t);
	r = pb_buf_printf(&t, "[BLOCKER] %s: %s", c->name ? c->name : c->id, b->text);
	if (!r)
		r = pb_ghbody_title(pb_buf_str(&t), out);
	pb_buf_deinit(&t);
	return r;
}

int pb_ghbody_blocker_body(const pb_component *c, const pb_blocker *b, pb_stage target, const char *marker,
			   pb_buf *out)
{
	/* the form's optional fields the bot has nothing for, in the form's order */
	static const char *const rest[] = { "Current Status", "Proposed Solution", "Estimated Effort",
					    "Related Issues", "Workarounds", "Impact Analysis", "Additional Context" };
	pb_buf val;
	int r;

	pb_buf_init(&val);
	r = pb_ghbody_escape_inline(c->name ? c->name : c->id, &val);
	if (!r)
		r = pb_ghbody_section(out, "Component Name", pb_buf_str(&val));
	/* the bot does not know the kind; "Other" is the form's own catch-all option */
	if (!r)
		r = pb_ghbody_section(out, "Blocker Type", "Other");
	if (!r)
		r = pb_ghbody_section(out, "Target Stage", (unsigned)target < PB_STAGE_COUNT ? pb_stage_title(target) : NULL);
	if (!r)
		r = pb_ghbody_section(out, "Severity", (unsigned)b->severity < PB_SEV_COUNT
							? severity_words[b->severity] : severity_words[PB_SEV_HIGH]);
	pb_buf_reset(&val);
	if (!r)
		r = pb_ghbody_escape(b->text, &val);
	if (!r)
		r = pb_ghbody_section(out, "Blocker Description", pb_buf_str(&val));
	pb_buf_reset(&val);
	/* the form requires one; the bot's is the way the blocker is closed */
	if (!r)
		r = pb_buf_printf(&val, "- [ ] The blocker described above is resolved (`/promote unblock %s %lld`)",
				  c->id, (long long)b->id);
	if (!r)
		r = pb_ghbody_section(out, "Acceptance Criteria", pb_buf_str(&val));
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]) && !r; i++)
		r = pb_ghbody_section(out, rest[i], NULL);
	if (!r)
		r = pb_ghbody_marker(out, marker);
	pb_buf_deinit(&val);
	return r;
}

/* True when `line` (n bytes) starts with `word` in any case, followed by its end, a blank or '('. */
static bool starts_word(const char *line, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && !strncasecmp(line, word, w) && (n == w || line[w] == ' ' || line[w] == '(');
}

pb_severity pb_ghbody_blocker_severity(const char *body)
{
	static const char *const names[PB_SEV_COUNT] = { "low", "medium", "high", "critical" };
	const char *s = body;
	bool in_section = false;

	/* "### Severity" must be a line of its own; its value is the first non-blank line after it */
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		const char *l = s;

		while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
			n--;
		while (n && (*l == ' ' || *l == '\t')) {
			l++;
			n--;
		}
		if (in_section && n) {
			for (int k = PB_SEV_COUNT - 1; k >= 0; k--)
				if (starts_word(l, n, names[k]))
					return (pb_severity)k;
			return PB_SEV_HIGH;
		}
		if (!in_section && l == s && n == strlen("### Severity") && !strncasecmp(l, "### Severity", n))
			in_section = true;
		s = nl ? nl + 1 : NULL;
	}
	return PB_SEV_HIGH;
}
