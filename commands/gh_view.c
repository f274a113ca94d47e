/* gh_view.c — the GitHub line of a promotion's card and status: its issue and the outbox's state. */
#include "pb_ghout.h"

#include <string.h>

/*
 * An error without an HTTP status (a timeout, a refused connection) names the
 * request first and says why at its end: a long one keeps both ends.
 */
static void put_reason(pb_buf *out, const char *text)
{
	size_t n = strlen(text);
	const char *tail;

	if (n <= 160) {
		pb_buf_puts(out, text);
		return;
	}
	tail = text + n - 100;
	while ((*tail & 0xC0) == 0x80) /* not in the middle of a UTF-8 character */
		tail++;
	pb_buf_printf(out, "%.56s … %s", text, tail);
}

int pb_ghout_describe(const pb_services *svc, const pb_promotion *p, pb_buf *out, pb_err *err)
{
	pb_ghops_summary s;
	char url[512];
	int r;

	if (!pb_ghout_wanted(svc, p->component))
		return 0;
	r = pb_store_promotion_issue_url(svc->store, p->id, url, sizeof(url), err);
	if (r == 0)
		r = pb_store_ghops_summary(svc->store, p->id, &s, err);
	if (r)
		return r == PB_E_NOTFOUND ? 0 : r;
	if (p->issue_number)
		pb_buf_printf(out, "GitHub: #%lld %s", (long long)p->issue_number, url);
	else if (s.pending || s.failed)
		pb_buf_puts(out, "GitHub: issue not opened yet");
	else
		return 0;
	if (s.pending) {
		pb_buf_printf(out, "; %zu update%s pending", s.pending, s.pending == 1 ? "" : "s");
		if (s.head_attempts && s.head_error[0]) {
			if (s.head_status)
				pb_buf_printf(out, " (%d, retrying)", s.head_status);
			else {
				pb_buf_puts(out, " (retrying: ");
				put_reason(out, s.head_error);
				pb_buf_puts(out, ")");
			}
		}
	}
	if (s.failed)
		pb_buf_printf(out, "; %zu update%s failed: %.200s", s.failed, s.failed == 1 ? "" : "s", s.failed_error);
	return 0;
}
