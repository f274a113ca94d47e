/* parse.c — splits chat command text into words (quotes, escapes, limits). */
#include "pb_cmd.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Chat text is hostile input: it is checked whole (size, UTF-8, control
 * characters) before it is split, so the splitter only ever sees clean text
 * and every rejection names the place a person can find in what they typed.
 */

#define CP_LDQUOTE 0x201C /* “ */
#define CP_RDQUOTE 0x201D /* ” */
#define CP_LSQUOTE 0x2018 /* ‘ */
#define CP_RSQUOTE 0x2019 /* ’ */

/*
 * Decodes the code point at s[0..len). Returns its byte length, or 0 when the
 * bytes are not valid UTF-8 (truncated, overlong, surrogate, > U+10FFFF).
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		v = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		v = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3F);
	}
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/* C0, DEL and C1 controls; space and tab are separators, not controls. */
static bool is_control(uint32_t cp)
{
	if (cp == '\t')
		return false;
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Whole-input checks: size, encoding, control characters. */
static int parse_check_input(const char *text, size_t len, pb_err *err)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, chr = 1;

	if (len > PB_CMD_MAX_INPUT)
		return pb_err_set(err, PB_E_INVALID,
				  "command is too long (%zu bytes, at most %d)", len,
				  PB_CMD_MAX_INPUT);
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);

		if (!n)
			return pb_err_set(err, PB_E_INVALID,
					  "invalid UTF-8 at byte %zu (character %zu)", i + 1, chr);
		if (is_control(cp))
			return pb_err_set(err, PB_E_INVALID,
					  "control character U+%04X at character %zu is not allowed "
					  "(commands are a single line of text)",
					  (unsigned)cp, chr);
		i += n;
		chr++;
	}
	return 0;
}

/* The word being built, bounded by PB_CMD_MAX_ARG. */
typedef struct parse_word {
	char buf[PB_CMD_MAX_ARG + 1];
	size_t len;
	bool started;    /* "" is a word even though it is empty */
	bool too_long;
} parse_word;

static void word_add(parse_word *w, const char *bytes, size_t n)
{
	w->started = true;
	if (w->too_long || n > PB_CMD_MAX_ARG - w->len) {
		w->too_long = true;
		return;
	}
	memcpy(w->buf + w->len, bytes, n);
	w->len += n;
}

/* Splitter state over the (already validated) input. */
typedef struct parse_state {
	const char *s;
	size_t len;
	size_t i;        /* byte offset */
	size_t chr;      /* 1-based character number of s[i] */
	pb_argv *out;
	int nwords;      /* words seen, including a skipped leading /promote */
	pb_err *err;
} parse_state;

/* Reads the next code point (input is valid UTF-8) and advances. */
static uint32_t st_next(parse_state *st, size_t *nbytes)
{
	uint32_t cp = 0;

	*nbytes = utf8_decode((const unsigned char *)st->s + st->i, st->len - st->i, &cp);
	st->i += *nbytes;
	st->chr++;
	return cp;
}

static uint32_t st_peek(const parse_state *st)
{
	uint32_t cp = 0;

	utf8_decode((const unsigned char *)st->s + st->i, st->len - st->i, &cp);
	return cp;
}

/* The closing quote for an opening one, or 0 when cp does not open a quote. */
static uint32_t quote_closer(uint32_t cp)
{
	switch (cp) {
	case '"':
		return '"';
	case '\'':
		return '\'';
	case CP_LDQUOTE:
		return CP_RDQUOTE;
	case CP_LSQUOTE:
		return CP_RSQUOTE;
	}
	return 0;
}

/* Copies the code point after a backslash; a trailing backslash stays literal. */
static void st_escape(parse_state *st, parse_word *w)
{
	size_t start = st->i, n;

	if (st->i >= st->len) {
		word_add(w, "\\", 1);
		return;
	}
	st_next(st, &n);
	word_add(w, st->s + start, n);
}

/* Reads a quoted section after its opening quote; backslash escapes only in double quotes. */
static int st_quoted(parse_state *st, parse_word *w, uint32_t closer, size_t open_chr)
{
	bool escapes = closer == '"' || closer == CP_RDQUOTE;

	w->started = true;
	while (st->i < st->len) {
		size_t start = st->i, n;
		uint32_t cp = st_next(st, &n);

		if (cp == closer)
			return 0;
		if (cp == '\\' && escapes)
			st_escape(st, w);
		else
			word_add(w, st->s + start, n);
	}
	return pb_err_set(st->err, PB_E_INVALID, "unterminated quote starting at character %zu",
			  open_chr);
}

/* Stores a finished word; the first word is dropped when it is "/promote". */
static int st_emit(parse_state *st, parse_word *w)
{
	char *copy;

	st->nwords++;
	if (w->too_long)
		return pb_err_set(st->err, PB_E_INVALID, "word %d is too long (more than %d bytes)",
				  st->nwords, PB_CMD_MAX_ARG);
	w->buf[w->len] = '\0';
	if (st->nwords == 1 && strcmp(w->buf, "/promote") == 0)
		return 0;
	if (st->out->argc >= PB_CMD_MAX_ARGS)
		return pb_err_set(st->err, PB_E_INVALID, "too many words (at most %d)",
				  PB_CMD_MAX_ARGS);
	copy = strdup(w->buf);
	if (!copy)
		return pb_err_set(st->err, -ENOMEM, "out of memory");
	st->out->argv[st->out->argc++] = copy;
	return 0;
}

/*
 * Reads one word starting at a non-blank character. A quote opens a quoted
 * section only where a word starts (or right after another quoted section):
 * inside a bare word it is an ordinary character, because chat text is full
 * of apostrophes ("can't") that nobody means as quotes.
 */
static int st_word(parse_state *st, parse_word *w)
{
	bool quote_ok = true;

	memset(w, 0, sizeof(*w));
	while (st->i < st->len) {
		size_t start = st->i, n, open_chr = st->chr;
		uint32_t cp = st_peek(st), closer = quote_closer(cp);

		if (cp == ' ' || cp == '\t')
			break;
		st_next(st, &n);
		if (closer && quote_ok) {
			int r = st_quoted(st, w, closer, open_chr);

			if (r)
				return r;
			continue; /* "a"'b' concatenates, as in a shell */
		}
		quote_ok = false;
		if (cp == '\\')
			st_escape(st, w);
		else
			word_add(w, st->s + start, n);
	}
	return st_emit(st, w);
}

static int st_split(parse_state *st)
{
	parse_word *w = malloc(sizeof(*w));
	int r = 0;

	if (!w)
		return pb_err_set(st->err, -ENOMEM, "out of memory");
	while (st->i < st->len) {
		uint32_t cp = st_peek(st);
		size_t n;

		if (cp == ' ' || cp == '\t') {
			st_next(st, &n);
			continue;
		}
		r = st_word(st, w);
		if (r)
			break;
	}
	free(w);
	return r;
}

int pb_cmd_parse(const char *text, pb_argv *out, pb_err *err)
{
	parse_state st;
	size_t len;
	int r;

	if (!out)
		return pb_err_set(err, -EINVAL, "pb_cmd_parse: no output");
	out->argc = 0;
	out->argv = calloc(PB_CMD_MAX_ARGS + 1, sizeof(*out->argv));
	if (!out->argv)
		return pb_err_set(err, -ENOMEM, "out of memory");
	if (!text)
		return 0; /* nothing typed: the dispatcher answers with help */
	len = strlen(text);
	r = parse_check_input(text, len, err);
	if (r)
		goto out;
	memset(&st, 0, sizeof(st));
	st.s = text;
	st.len = len;
	st.chr = 1;
	st.out = out;
	st.err = err;
	r = st_split(&st);
out:
	if (r)
		pb_argv_deinit(out);
	return r;
}

void pb_argv_deinit(pb_argv *a)
{
	if (!a)
		return;
	if (a->argv)
		for (int i = 0; i < a->argc; i++)
			free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}
