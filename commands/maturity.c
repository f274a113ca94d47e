/* maturity.c — the step-11 MATURITY.md edit (Current Stage, Last Updated, Promotion History) as a pure text function. */
#include "pb_maturity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

/* One line of the document: content without its ending, and the ending as found ("" for a last line without one). */
typedef struct mline {
	const char *s;           /* points into the input or into owned */
	size_t len;
	const char *eol;         /* "\n", "\r\n", or "" */
	char *owned;             /* replacement content we allocated */
} mline;

typedef struct mdoc {
	mline *lines;
	size_t n, cap;
	int oom;
} mdoc;

static mline *doc_insert(mdoc *d, size_t at, const char *s, const char *eol)
{
	char *copy;
	mline *grown;

	if (d->oom || at > d->n)
		return NULL;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 32;

		grown = realloc(d->lines, ncap * sizeof(*grown));
		if (!grown) {
			d->oom = 1;
			return NULL;
		}
		d->lines = grown;
		d->cap = ncap;
	}
	copy = s ? strdup(s) : NULL;
	if (s && !copy) {
		d->oom = 1;
		return NULL;
	}
	memmove(&d->lines[at + 1], &d->lines[at], (d->n - at) * sizeof(*d->lines));
	d->lines[at] = (mline){ .s = copy, .len = copy ? strlen(copy) : 0, .eol = eol, .owned = copy };
	d->n++;
	return &d->lines[at];
}

static void doc_replace(mdoc *d, size_t at, const char *s)
{
	char *copy;

	if (d->oom || at >= d->n)
		return;
	copy = strdup(s);
	if (!copy) {
		d->oom = 1;
		return;
	}
	free(d->lines[at].owned);
	d->lines[at].owned = copy;
	d->lines[at].s = copy;
	d->lines[at].len = strlen(copy);
}

static void doc_free(mdoc *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i].owned);
	free(d->lines);
}

/* Splits text into lines, each keeping its own ending. */
static void doc_split(mdoc *d, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len && !d->oom) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		bool crlf = nl && end > i && text[end - 1] == '\r';
		mline *l = doc_insert(d, d->n, NULL, nl ? (crlf ? "\r\n" : "\n") : "");

		if (!l)
			return;
		l->s = text + i;
		l->len = end - i - (crlf ? 1 : 0);
		i = nl ? end + 1 : len;
	}
}

/*
 * A line's length without trailing '\r's: a last line "x\r" (no '\n') is "x\r\n" once a line
 * follows it, so both must read the same or a second edit would see another document.
 */
static size_t text_len(const mline *l)
{
	size_t n = l->len;

	while (n && l->s[n - 1] == '\r')
		n--;
	return n;
}

/* Case-insensitive prefix test on a line's content. */
static bool starts_with_ci(const mline *l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l->len >= n && strncasecmp(l->s, prefix, n) == 0;
}

/* `**Name**:` or `**Name:**` at the start of the line, any case. */
static bool is_field(const mline *l, const char *name)
{
	char a[64], b[64];

	snprintf(a, sizeof(a), "**%s**:", name);
	snprintf(b, sizeof(b), "**%s:**", name);
	return starts_with_ci(l, a) || starts_with_ci(l, b);
}

static bool is_blank(const mline *l)
{
	for (size_t i = 0; i < text_len(l); i++)
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return false;
	return true;
}

/* A heading of level 1 or 2: ends the history section. */
static bool is_top_heading(const mline *l)
{
	size_t n = text_len(l);

	return starts_with_ci(l, "# ") || starts_with_ci(l, "## ") || (n == 1 && l->s[0] == '#') ||
	       (n == 2 && !strncmp(l->s, "##", 2));
}

static bool is_history_heading(const mline *l)
{
	static const char h[] = "## Promotion History";
	size_t n = l->len;

	while (n && (l->s[n - 1] == ' ' || l->s[n - 1] == '\t' || l->s[n - 1] == '\r'))
		n--;
	return n == sizeof(h) - 1 && strncasecmp(l->s, h, n) == 0;
}

static bool is_list_item(const mline *l)
{
	return l->len >= 2 && (l->s[0] == '-' || l->s[0] == '*' || l->s[0] == '+') && l->s[1] == ' ';
}

static bool contains(const mline *l, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n && i + n <= l->len; i++)
		if (!memcmp(l->s + i, needle, n))
			return true;
	return false;
}

static ssize_t find_line(const mdoc *d, bool (*match)(const mline *, const char *), const char *arg)
{
	for (size_t i = 0; i < d->n; i++)
		if (match(&d->lines[i], arg))
			return (ssize_t)i;
	return -1;
}

static bool is_title(const mline *l, const char *unused)
{
	(void)unused;
	return starts_with_ci(l, "# ");
}

void pb_maturity_history_line(const pb_maturity_update *u, char *out, size_t size)
{
	snprintf(out, size, "- **%s**: Promoted to %s (%s)", u->date, u->stage, u->ref);
}

/* Current Stage and Last Updated: rewritten in place, or added. */
static void edit_fields(mdoc *d, const pb_maturity_update *u, const char *nl)
{
	char stage[512], updated[128];
	ssize_t cs = find_line(d, is_field, "Current Stage");
	ssize_t lu = find_line(d, is_field, "Last Updated");

	snprintf(stage, sizeof(stage), "**Current Stage**: %s (promoted from %s on %s)", u->stage, u->from, u->date);
	snprintf(updated, sizeof(updated), "**Last Updated**: %s", u->date);
	if (cs >= 0) {
		doc_replace(d, (size_t)cs, stage);
	} else {
		ssize_t title = find_line(d, is_title, NULL);
		size_t first = title >= 0 ? (size_t)title + 1 : 0;

		/* under the title after a blank line, or at the top followed by one: two lines either way */
		if (lu >= (ssize_t)first)
			lu += 2;
		if (title >= 0) {
			doc_insert(d, first, "", nl);
			doc_insert(d, first + 1, stage, nl);
			cs = (ssize_t)first + 1;
		} else {
			doc_insert(d, 0, stage, nl);
			doc_insert(d, 1, "", nl);
			cs = 0;
		}
	}
	if (lu >= 0)
		doc_replace(d, (size_t)lu, updated);
	else
		doc_insert(d, (size_t)cs + 1, updated, nl);
}

/* The history entry: after the section's last list item (and its continuation lines), once. */
static void edit_history(mdoc *d, const pb_maturity_update *u, const char *nl)
{
	char entry[512], key[256];
	ssize_t head = -1;
	size_t end, at;

	pb_maturity_history_line(u, entry, sizeof(entry));
	snprintf(key, sizeof(key), "Promoted to %s (%s)", u->stage, u->ref);
	for (size_t i = 0; i < d->n && head < 0; i++)
		if (is_history_heading(&d->lines[i]))
			head = (ssize_t)i;
	if (head < 0) {
		if (d->n && !is_blank(&d->lines[d->n - 1]))
			doc_insert(d, d->n, "", nl);
		doc_insert(d, d->n, "## Promotion History", nl);
		doc_insert(d, d->n, entry, nl);
		return;
	}
	end = (size_t)head + 1;
	while (end < d->n && !is_top_heading(&d->lines[end]))
		end++;
	at = (size_t)head + 1;
	for (size_t i = (size_t)head + 1; i < end; i++) {
		if (contains(&d->lines[i], key))
			return;
		if (is_list_item(&d->lines[i])) {
			at = i + 1;
			while (at < end && !is_blank(&d->lines[at]) && (d->lines[at].s[0] == ' ' || d->lines[at].s[0] == '\t'))
				at++;
		}
	}
	doc_insert(d, at, entry, nl);
}

int pb_maturity_apply(const char *text, size_t len, const pb_maturity_update *u, pb_buf *out, bool *changed)
{
	const char *crlf = memchr(text, '\n', len);
	const char *nl = crlf && crlf > text && crlf[-1] == '\r' ? "\r\n" : "\n";
	bool final_nl = len == 0 || text[len - 1] == '\n';
	size_t start = out->len;
	mdoc d = { 0 };
	int r = 0;

	doc_split(&d, text, len);
	if (!d.oom)
		edit_fields(&d, u, nl);
	if (!d.oom)
		edit_history(&d, u, nl);
	if (d.oom) {
		r = -ENOMEM;
		goto out;
	}
	/* a line that had no ending (the old last one) gets one when lines follow; the last keeps the file's habit */
	for (size_t i = 0; i < d.n; i++) {
		const char *eol = d.lines[i].eol;

		if (i + 1 < d.n && !eol[0])
			eol = nl;
		if (i + 1 == d.n)
			eol = final_nl ? (eol[0] ? eol : nl) : "";
		pb_buf_append(out, d.lines[i].s ? d.lines[i].s : "", d.lines[i].len);
		pb_buf_puts(out, eol);
	}
	if (out->oom) {
		r = -ENOMEM;
		goto out;
	}
	*changed = out->len - start != len || memcmp(pb_buf_str(out) + start, text, len) != 0;
out:
	doc_free(&d);
	return r;
}
