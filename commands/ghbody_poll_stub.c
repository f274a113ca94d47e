/* ghbody_poll_stub.c — stand-ins for the two pb_ghbody.h functions the poller reads; replaced at merge by branch ghbody. */
#include "pb_ghbody.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/*
 * Replaced at merge by branch ghbody (which owns pb_ghbody.h): the blocker
 * form's "### Severity" section holds the option as the form words it,
 * "Critical (must be resolved before promotion)"; its first word decides.
 */
pb_severity pb_ghbody_blocker_severity(const char *body)
{
	static const struct {
		const char *word;
		pb_severity sev;
	} words[] = { { "critical", PB_SEV_CRITICAL }, { "high", PB_SEV_HIGH },
		      { "medium", PB_SEV_MEDIUM }, { "low", PB_SEV_LOW } };
	const char *s = body ? strstr(body, "### Severity") : NULL;
	size_t n = 0;

	if (!s)
		return PB_SEV_HIGH;
	s += strlen("### Severity");
	while (*s && isspace((unsigned char)*s))
		s++;
	while (isalpha((unsigned char)s[n]))
		n++;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (n == strlen(words[i].word) && strncasecmp(s, words[i].word, n) == 0)
			return words[i].sev;
	return PB_SEV_HIGH;
}

/* Replaced at merge by branch ghbody: the lifecycle labels an issue in `state` carries. */
const char *const *pb_ghlabels_expected(pb_state state)
{
	static const char *const requested[] = { PB_GH_LABEL_REQUESTED, NULL };
	static const char *const in_review[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_IN_REVIEW, NULL };
	static const char *const blocked[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_BLOCKED, NULL };
	static const char *const approved[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_APPROVED, NULL };
	static const char *const completed[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_APPROVED,
						 PB_GH_LABEL_COMPLETED, NULL };
	static const char *const none[] = { NULL };

	switch (state) {
	case PB_ST_REQUESTED:
	case PB_ST_VALIDATING:
		return requested;
	case PB_ST_IN_REVIEW:
		return in_review;
	case PB_ST_BLOCKED:
	case PB_ST_FAILED:
	case PB_ST_ROLLED_BACK:
		return blocked;
	case PB_ST_APPROVED:
	case PB_ST_DEPLOYING:
	case PB_ST_OBSERVING:
		return approved;
	case PB_ST_COMPLETED:
		return completed;
	default:
		return none;
	}
}
