/* ghbody_escape.c — user text made safe for an issue-form body: it can open no section, list, checkbox, fence, table or HTML comment. */
#include "ghbody_priv.h"

#include <errno.h>
#include <string.h>

#define REPLACEMENT_CHAR "\xEF\xBF\xBD" /* U+FFFD for bytes that are not UTF-8 */

/* Length of the valid UTF-8 character at s (1..4), 0 when the bytes there are not one. */
static size_t utf8_char(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if (!s[i])
			return 0;
	return n && pb_utf8_valid(s, n) ? n : 0;
}

/*
 * The text as lines of printable UTF-8: CRLF and CR become LF, a tab a
 * space, other control bytes are dropped and invalid UTF-8 becomes U+FFFD.
 * `one_line` turns every line break into a space as well.
 */
static int clean(const char *text, bool one_line, pb_buf *out)
{
	int r = 0;

	for (const char *s = text ? text : ""; *s && !r;) {
		unsigned char c = (unsigned char)*s;
		size_t n;

		if (c == '\r' || c == '\n') {
			r = pb_buf_puts(out, one_line ? " " : "\n");
			s += (c == '\r' && s[1] == '\n') ? 2 : 1;
			continue;
		}
		if (c == '\t') {
			r = pb_buf_puts(out, " ");
			s++;
			continue;
		}
		if (c < 0x20 || c == 0x7F) {
			s++;
			continue;
		}
		n = utf8_char(s);
		if (!n) {
			r = pb_buf_puts(out, REPLACEMENT_CHAR);
			s++;
			continue;
		}
		r = pb_buf_append(out, s, n);
		s += n;
	}
	return r;
}

static bool is_ascii_punct(char c)
{
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

/*
 * One line of user text (no '\n', leading blanks already gone) written so
 * that it starts no block of its own: a line opening with ASCII punctuation
 * (#, -, +, *, >, |, `, ~, [, <, =, _, :, …) gets a backslash, which
 * CommonMark allows before any ASCII punctuation and renders invisibly; an
 * ordered-list start "12. " / "3) " gets it before the '.' or ')'. Inside
 * the line every "<!" and "<?" becomes "&lt;!" / "&lt;?": no HTML comment
 * (a forged hidden marker), declaration or processing instruction can start.
 */
static int escape_line(const char *line, size_t len, pb_buf *out)
{
	size_t digits = 0;
	int r = 0;

	while (digits < len && digits < 10 && line[digits] >= '0' && line[digits] <= '9')
		digits++;
	if (len && is_ascii_punct(line[0]) &&
	    !(len >= 2 && line[0] == '<' && (line[1] == '!' || line[1] == '?')))
		r = pb_buf_puts(out, "\\");
	else if (digits && digits < len && (line[digits] == '.' || line[digits] == ')')) {
		r = pb_buf_append(out, line, digits);
		if (!r)
			r = pb_buf_puts(out, "\\");
		line += digits;
		len -= digits;
	}
	for (size_t i = 0; i < len && !r; i++) {
		if (line[i] == '<' && i + 1 < len && (line[i + 1] == '!' || line[i + 1] == '?'))
			r = pb_buf_puts(out, "&lt;");
		else
			r = pb_buf_append(out, line + i, 1);
	}
	return r;
}

/* Writes the cleaned text line by line; blank runs become one blank line, none leads or trails. */
static int escape_lines(const char *s, pb_buf *out)
{
	bool blank_pending = false, wrote = false;
	int r = 0;

	while (*s && !r) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		while (len && *s == ' ') {
			s++;
			len--;
		}
		while (len && s[len - 1] == ' ')
			len--;
		if (!len) {
			blank_pending = wrote;
		} else {
			if (wrote)
				r = pb_buf_puts(out, blank_pending ? "\n\n" : "\n");
			if (!r)
				r = escape_line(s, len, out);
			wrote = true;
			blank_pending = false;
		}
		s = nl ? nl + 1 : s + strlen(s);
	}
	return r;
}

int pb_ghbody_escape(const char *text, pb_buf *out)
{
	pb_buf c;
	int r;

	pb_buf_init(&c);
	r = clean(text, false, &c);
	if (!r)
		r = escape_lines(pb_buf_str(&c), out);
	pb_buf_deinit(&c);
	return r;
}

/* The text cleaned onto one line, runs of blanks (line breaks included) squeezed to one, none at the ends. */
static int one_line(const char *text, pb_buf *out)
{
	pb_buf c;
	int r;

	pb_buf_init(&c);
	r = clean(text, true, &c);
	for (const char *s = pb_buf_str(&c); *s && !r; s++)
		if (*s != ' ' || (out->len && s[1] && s[1] != ' '))
			r = pb_buf_append(out, s, 1);
	pb_buf_deinit(&c);
	return r;
}

int pb_ghbody_escape_inline(const char *text, pb_buf *out)
{
	pb_buf line;
	int r;

	pb_buf_init(&line);
	r = one_line(text, &line);
	if (!r)
		r = escape_lines(pb_buf_str(&line), out);
	pb_buf_deinit(&line);
	return r;
}

int pb_ghbody_title(const char *title, pb_buf *out)
{
	pb_buf squeezed;
	size_t chars = 0, cut = 0, i;
	const char *s;
	int r;

	pb_buf_init(&squeezed);
	r = one_line(title, &squeezed);
	if (r)
		goto out;
	s = pb_buf_str(&squeezed);
	/* count characters (lead bytes); remember where character 255 ends for the "…" */
	for (i = 0; i < squeezed.len; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (chars == PB_GH_TITLE_MAX - 1)
			cut = i;
		chars++;
	}
	if (chars <= PB_GH_TITLE_MAX) {
		r = pb_buf_append(out, s, squeezed.len);
	} else {
		r = pb_buf_append(out, s, cut);
		if (!r)
			r = pb_buf_puts(out, "…");
	}
out:
	pb_buf_deinit(&squeezed);
	return r;
}

int pb_ghbody_section(pb_buf *out, const char *label, const char *value)
{
	return pb_buf_printf(out, "### %s\n\n%s\n\n", label, value && *value ? value : PB_GH_NO_RESPONSE);
}

int pb_ghbody_checkbox(pb_buf *out, bool ticked, const char *text)
{
	/* GitHub writes a ticked form checkbox with a capital X */
	return pb_buf_printf(out, "- [%s] %s\n", ticked ? "X" : " ", text);
}

int pb_ghbody_marker(pb_buf *out, const char *marker)
{
	size_t n;

	if (!marker || !*marker)
		return 0;
	n = strlen(marker);
	/* either the whole comment or what goes inside it */
	if (n >= 7 && !strncmp(marker, "<!--", 4) && !strcmp(marker + n - 3, "-->")) {
		marker += 4;
		n -= 7;
	}
	for (size_t i = 0; i < n; i++)
		if (marker[i] == '\n' || marker[i] == '\r' || (marker[i] == '-' && i + 1 < n && marker[i + 1] == '-') ||
		    (marker[i] == '-' && i + 1 == n) || marker[i] == '>')
			return -EINVAL;
	while (n && *marker == ' ') {
		marker++;
		n--;
	}
	while (n && marker[n - 1] == ' ')
		n--;
	if (!n)
		return -EINVAL;
	return pb_buf_printf(out, "<!-- %.*s -->\n", (int)n, marker);
}
