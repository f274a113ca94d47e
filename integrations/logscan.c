/* logscan.c — level counting over a container's log: an entry starts at a line matching the level pattern, continuation lines belong to it. */
#include "pb_logscan.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOGSCAN_SIGS 64   /* distinct signatures tracked; later new ones are not ranked */

struct pb_logscan {
	regex_t re;
	const pb_monitor_cfg *mc;   /* the config outlives every scanner */
	char line[PB_LOGSCAN_LINE_MAX + 1];
	size_t len;
	uint32_t critical, warning;
	pb_logscan_sig sigs[LOGSCAN_SIGS];
	size_t nsigs;
};

int pb_logscan_new(const pb_monitor_cfg *mc, pb_logscan **out, pb_err *err)
{
	pb_logscan *ls = calloc(1, sizeof(*ls));
	char why[200];
	int rc;

	*out = NULL;
	if (!ls)
		return pb_err_set(err, -ENOMEM, "out of memory");
	rc = regcomp(&ls->re, mc->log_entry_regex ? mc->log_entry_regex : "^", REG_EXTENDED);
	if (rc) {
		regerror(rc, &ls->re, why, sizeof(why));
		free(ls);
		return pb_err_set(err, PB_E_INVALID, "log_entry_regex: %s", why);
	}
	if (ls->re.re_nsub < 1) {
		regfree(&ls->re);
		free(ls);
		return pb_err_set(err, PB_E_INVALID, "log_entry_regex: needs a group (…) capturing the level");
	}
	ls->mc = mc;
	*out = ls;
	return 0;
}

void pb_logscan_free(pb_logscan *ls)
{
	if (!ls)
		return;
	regfree(&ls->re);
	free(ls);
}

static bool level_in(const char *lvl, size_t len, char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && !strncasecmp(list[i], lvl, len))
			return true;
	return false;
}

/* "Connection 1234 refused at 0x7f3a" → "Connection # refused at #": numbers and hex ids vary, the error does not. */
static void signature(const char *msg, char *out, size_t size)
{
	size_t o = 0;

	while (*msg == ' ' || *msg == '\t')
		msg++;
	for (const char *p = msg; *p && o + 1 < size;) {
		const char *q = p;
		bool digit = false;

		while (isxdigit((unsigned char)*q) || (q == p + 1 && *p == '0' && (*q == 'x' || *q == 'X'))) {
			digit |= isdigit((unsigned char)*q) != 0;
			q++;
		}
		if (q > p && digit && (p == msg || !isalpha((unsigned char)p[-1])) && !isalpha((unsigned char)*q)) {
			out[o++] = '#';
			p = q;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
}

static void count_signature(pb_logscan *ls, const char *msg)
{
	char sig[PB_LOGSCAN_SIG_MAX];

	signature(msg, sig, sizeof(sig));
	for (size_t i = 0; i < ls->nsigs; i++)
		if (!strcmp(ls->sigs[i].text, sig)) {
			ls->sigs[i].count++;
			return;
		}
	if (ls->nsigs < LOGSCAN_SIGS) {
		memcpy(ls->sigs[ls->nsigs].text, sig, sizeof(sig));
		ls->sigs[ls->nsigs++].count = 1;
	}
}

/* One complete line: a new entry counts once by its level; anything else continues the entry above. */
static void scan_line(pb_logscan *ls)
{
	regmatch_t m[2];
	const char *lvl;
	size_t n;

	ls->line[ls->len] = 0;
	if (regexec(&ls->re, ls->line, 2, m, 0) || m[1].rm_so < 0)
		return;
	lvl = ls->line + m[1].rm_so;
	n = (size_t)(m[1].rm_eo - m[1].rm_so);
	if (level_in(lvl, n, ls->mc->log_critical, ls->mc->nlog_critical)) {
		ls->critical++;
		count_signature(ls, ls->line + m[1].rm_eo);
	} else if (level_in(lvl, n, ls->mc->log_warning, ls->mc->nlog_warning)) {
		ls->warning++;
	}
}

void pb_logscan_feed(pb_logscan *ls, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			scan_line(ls);
			ls->len = 0;
		} else if (ls->len < PB_LOGSCAN_LINE_MAX) {
			/* a NUL inside a line would end regexec's view of it early: make it visible */
			ls->line[ls->len++] = data[i] ? data[i] : ' ';
		}
	}
}

void pb_logscan_flush(pb_logscan *ls)
{
	if (ls->len) {
		scan_line(ls);
		ls->len = 0;
	}
}

void pb_logscan_take(pb_logscan *ls, uint32_t *critical, uint32_t *warning)
{
	*critical = ls->critical;
	*warning = ls->warning;
	ls->critical = ls->warning = 0;
}

size_t pb_logscan_top(const pb_logscan *ls, pb_logscan_sig *out)
{
	bool used[LOGSCAN_SIGS] = { false };
	size_t n = 0;

	for (; n < PB_LOGSCAN_TOP && n < ls->nsigs; n++) {
		size_t best = SIZE_MAX;

		for (size_t i = 0; i < ls->nsigs; i++)
			if (!used[i] && (best == SIZE_MAX || ls->sigs[i].count > ls->sigs[best].count))
				best = i;
		used[best] = true;
		out[n] = ls->sigs[best];
	}
	return n;
}

void pb_logscan_top_reset(pb_logscan *ls)
{
	ls->nsigs = 0;
}
