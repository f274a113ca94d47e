/* test_parse.c — pb_cmd_parse: quoting, escapes, unicode, limits and rejections. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_cmd.h"

/* Parses text and asserts it succeeds with exactly the words given (NULL-terminated). */
static void expect_words(const char *text, ...)
{
	pb_argv a = {0};
	pb_err err;
	va_list ap;
	int r, i = 0;
	const char *w;

	pb_err_init(&err);
	r = pb_cmd_parse(text, &a, &err);
	cr_assert_eq(r, 0, "parse of [%s] failed: %d %s", text, r, pb_err_text(&err));
	cr_assert_not_null(a.argv);
	va_start(ap, text);
	while ((w = va_arg(ap, const char *))) {
		cr_assert_lt(i, a.argc, "[%s]: missing word %d [%s]", text, i, w);
		cr_assert_str_eq(a.argv[i], w, "[%s]: word %d", text, i);
		i++;
	}
	va_end(ap);
	cr_assert_eq(a.argc, i, "[%s]: argc %d, expected %d", text, a.argc, i);
	cr_assert_null(a.argv[a.argc], "argv must be NULL-terminated");
	pb_argv_deinit(&a);
	cr_assert_null(a.argv);
	cr_assert_eq(a.argc, 0);
}

/* Asserts the parse fails with PB_E_INVALID and a message containing `needle`. */
static void expect_invalid(const char *text, const char *needle)
{
	pb_argv a = {0};
	pb_err err;
	int r;

	pb_err_init(&err);
	r = pb_cmd_parse(text, &a, &err);
	cr_assert_eq(r, PB_E_INVALID, "parse of [%.60s] returned %d, expected PB_E_INVALID", text, r);
	cr_assert(err.set, "an error message must be set");
	cr_assert(strstr(pb_err_text(&err), needle), "message [%s] lacks [%s]",
		  pb_err_text(&err), needle);
	cr_assert_null(a.argv, "argv is freed on error");
	cr_assert_eq(a.argc, 0);
	pb_argv_deinit(&a); /* harmless after an error */
}

/* A string of n copies of c (caller frees). */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(parse, plain_words)
{
	expect_words("status neo4j", "status", "neo4j", NULL);
	expect_words("  request\tneo4j   staging  ", "request", "neo4j", "staging", NULL);
	expect_words("x", "x", NULL);
}

Test(parse, empty_and_whitespace_only_give_no_words)
{
	expect_words("", NULL);
	expect_words("   \t  \t", NULL);
	expect_words(NULL, NULL);
}

Test(parse, leading_promote_is_skipped)
{
	expect_words("/promote status neo4j", "status", "neo4j", NULL);
	expect_words("  /promote\thelp", "help", NULL);
	expect_words("/promote", NULL);
	expect_words("/promote   ", NULL);
	/* only the first word, and only the exact word */
	expect_words("help /promote", "help", "/promote", NULL);
	expect_words("/promotex status", "/promotex", "status", NULL);
}

Test(parse, double_quotes_group)
{
	expect_words("block neo4j \"disk is full\"", "block", "neo4j", "disk is full", NULL);
	expect_words("\"a  b\"\t\"c\"", "a  b", "c", NULL);
}

Test(parse, single_quotes_group)
{
	expect_words("block neo4j 'disk is full'", "block", "neo4j", "disk is full", NULL);
}

Test(parse, typographic_quotes_group)
{
	/* what Slack sends when a user typed "..." and '...' */
	expect_words("block neo4j “disk is full” now", "block", "neo4j", "disk is full", "now", NULL);
	expect_words("block ‘two words’", "block", "two words", NULL);
	/* the other kind of quote is an ordinary character inside */
	expect_words("“it's ‘fine’”", "it's ‘fine’", NULL);
	expect_words("'say \"hi\"'", "say \"hi\"", NULL);
	expect_words("\"don’t\"", "don’t", NULL);
}

Test(parse, empty_quoted_word_is_a_word)
{
	expect_words("reject neo4j \"\"", "reject", "neo4j", "", NULL);
	expect_words("'' “” ‘’", "", "", "", NULL);
}

Test(parse, adjacent_quoted_sections_join_one_word)
{
	expect_words("\"a b\"'c d'", "a bc d", NULL);
	expect_words("\"a\"b", "ab", NULL);
}

Test(parse, apostrophes_inside_bare_words_are_literal)
{
	expect_words("block neo4j can't connect", "block", "neo4j", "can't", "connect", NULL);
	expect_words("it\"s", "it\"s", NULL);
	expect_words("don’t", "don’t", NULL);
}

Test(parse, backslash_escapes_in_bare_words)
{
	expect_words("a\\ b c", "a b", "c", NULL);
	expect_words("\\\"quoted\\\"", "\"quoted\"", NULL);
	expect_words("back\\\\slash", "back\\slash", NULL);
	expect_words("\\'x", "'x", NULL);
	expect_words("\\“x", "“x", NULL);
	/* escaping a multi-byte character keeps it whole */
	expect_words("\\🚀go", "🚀go", NULL);
	/* nothing to escape at the end: the backslash stays */
	expect_words("end\\", "end\\", NULL);
}

Test(parse, backslash_escapes_in_double_quotes)
{
	expect_words("\"say \\\"hi\\\"\"", "say \"hi\"", NULL);
	expect_words("\"a\\\\b\"", "a\\b", NULL);
	expect_words("“a \\” b”", "a ” b", NULL);
}

Test(parse, no_escapes_in_single_quotes)
{
	expect_words("'a\\b'", "a\\b", NULL);
	expect_words("'a\\' b", "a\\", "b", NULL);
	expect_words("‘a\\’", "a\\", NULL);
}

Test(parse, unicode_words_pass_intact)
{
	expect_words("block neo4j Ünïcödé 🚀", "block", "neo4j", "Ünïcödé", "🚀", NULL);
	expect_words("\"Ünïcödé 🚀\" 日本語", "Ünïcödé 🚀", "日本語", NULL);
	/* U+00A0 is not a separator: only space and tab are */
	expect_words("a\xc2\xa0" "b", "a\xc2\xa0" "b", NULL);
}

Test(parse, unterminated_quotes_name_their_position)
{
	expect_invalid("block neo4j \"disk", "unterminated quote starting at character 13");
	expect_invalid("'open", "unterminated quote starting at character 1");
	expect_invalid("x “abc", "unterminated quote starting at character 3");
	/* characters, not bytes: the emoji counts once */
	expect_invalid("🚀 ‘abc", "unterminated quote starting at character 3");
	/* a closing quote of the wrong kind does not close */
	expect_invalid("\"abc'", "unterminated quote starting at character 1");
	expect_invalid("“abc“", "unterminated quote starting at character 1");
	/* an escaped closing quote does not close either */
	expect_invalid("\"abc\\\"", "unterminated quote");
}

Test(parse, control_characters_rejected)
{
	expect_invalid("status\nneo4j", "control character U+000A at character 7");
	expect_invalid("status neo4j\n", "U+000A");
	expect_invalid("a\rb", "U+000D");
	expect_invalid("\x1b[31mred", "U+001B at character 1");
	expect_invalid("a\x7f", "U+007F");
	expect_invalid("a\xc2\x85", "U+0085"); /* C1 NEL */
	expect_invalid("\"in\x01quotes\"", "U+0001");
}

Test(parse, invalid_utf8_rejected)
{
	expect_invalid("a \xc0\xaf", "invalid UTF-8 at byte 3");       /* overlong '/' */
	expect_invalid("\xe0\x80\xaf", "invalid UTF-8");                /* overlong, 3 bytes */
	expect_invalid("\xf0\x82\x82\xac", "invalid UTF-8");            /* overlong, 4 bytes */
	expect_invalid("x \xed\xa0\x80 y", "invalid UTF-8 at byte 3");  /* surrogate U+D800 */
	expect_invalid("\xed\xbf\xbf", "invalid UTF-8");                /* surrogate U+DFFF */
	expect_invalid("abc \xe2\x82", "invalid UTF-8 at byte 5");      /* truncated at end */
	expect_invalid("\xe2\x82 x", "invalid UTF-8 at byte 1");        /* truncated mid-text */
	expect_invalid("\x80", "invalid UTF-8");                        /* stray continuation */
	expect_invalid("\xf4\x90\x80\x80", "invalid UTF-8");            /* above U+10FFFF */
	expect_invalid("\xff", "invalid UTF-8");
	expect_invalid("\"\xc3\"", "invalid UTF-8");
}

Test(parse, input_length_limit)
{
	/* 1000 + 1 + 1000 + 1 + 1000 + 1 + 997 = 4000 bytes */
	char *a = repeat('a', PB_CMD_MAX_ARG), *b = repeat('b', PB_CMD_MAX_ARG);
	char *c = repeat('c', PB_CMD_MAX_ARG), *d = repeat('d', 998);
	char *text = malloc(PB_CMD_MAX_INPUT + 2);

	cr_assert_not_null(text);
	snprintf(text, PB_CMD_MAX_INPUT + 2, "%s %s %s %.997s", a, b, c, d);
	cr_assert_eq(strlen(text), PB_CMD_MAX_INPUT);
	expect_words(text, a, b, c, d + 1, NULL);

	snprintf(text, PB_CMD_MAX_INPUT + 2, "%s %s %s %s", a, b, c, d);
	cr_assert_eq(strlen(text), PB_CMD_MAX_INPUT + 1);
	expect_invalid(text, "too long (4001 bytes, at most 4000)");

	free(a);
	free(b);
	free(c);
	free(d);
	free(text);
}

Test(parse, word_length_limit)
{
	char *w = repeat('w', PB_CMD_MAX_ARG + 1);
	char text[PB_CMD_MAX_ARG + 32];

	/* exactly at the limit */
	w[PB_CMD_MAX_ARG] = '\0';
	snprintf(text, sizeof(text), "block %s", w);
	expect_words(text, "block", w, NULL);
	snprintf(text, sizeof(text), "block \"%s\"", w);
	expect_words(text, "block", w, NULL);

	/* one over, bare and quoted */
	w[PB_CMD_MAX_ARG] = 'w';
	snprintf(text, sizeof(text), "block %s", w);
	expect_invalid(text, "word 2 is too long (more than 1000 bytes)");
	snprintf(text, sizeof(text), "block '%s'", w);
	expect_invalid(text, "word 2 is too long");
	free(w);
}

Test(parse, word_limit_counts_bytes_after_unescaping)
{
	/* 1000 'x' plus backslashes: the escapes do not count, the result is 1000 bytes */
	char text[2 * PB_CMD_MAX_ARG + 8];
	char *w = repeat('x', PB_CMD_MAX_ARG);
	size_t n = 0;

	for (int i = 0; i < PB_CMD_MAX_ARG; i++) {
		text[n++] = '\\';
		text[n++] = 'x';
	}
	text[n] = '\0';
	expect_words(text, w, NULL);
	free(w);
}

Test(parse, word_limit_counts_bytes_not_characters)
{
	/* 500 two-byte characters = 1000 bytes passes; 501 = 1002 bytes fails */
	char text[1100];
	size_t n = 0;

	for (int i = 0; i < 500; i++) {
		text[n++] = '\xc3';
		text[n++] = '\xbc'; /* ü */
	}
	text[n] = '\0';
	expect_words(text, text, NULL);
	text[n++] = '\xc3';
	text[n++] = '\xbc';
	text[n] = '\0';
	expect_invalid(text, "word 1 is too long");
}

Test(parse, word_count_limit)
{
	char text[256];
	size_t n = 0;
	pb_argv a = {0};
	pb_err err;

	for (int i = 0; i < PB_CMD_MAX_ARGS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", i ? " " : "", i);
	pb_err_init(&err);
	cr_assert_eq(pb_cmd_parse(text, &a, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(a.argc, PB_CMD_MAX_ARGS);
	cr_assert_str_eq(a.argv[0], "0");
	cr_assert_str_eq(a.argv[PB_CMD_MAX_ARGS - 1], "31");
	cr_assert_null(a.argv[PB_CMD_MAX_ARGS]);
	pb_argv_deinit(&a);

	/* the skipped /promote does not count */
	{
		char with[300];

		snprintf(with, sizeof(with), "/promote %s", text);
		pb_err_init(&err);
		cr_assert_eq(pb_cmd_parse(with, &a, &err), 0, "%s", pb_err_text(&err));
		cr_assert_eq(a.argc, PB_CMD_MAX_ARGS);
		pb_argv_deinit(&a);
	}

	snprintf(text + n, sizeof(text) - n, " 32");
	expect_invalid(text, "too many words (at most 32)");
	/* empty quoted words count too */
	snprintf(text + n, sizeof(text) - n, " \"\"");
	expect_invalid(text, "too many words");
}

Test(parse, first_error_wins_and_null_err_is_safe)
{
	pb_argv a = {0};
	pb_err err;

	pb_err_init(&err);
	pb_err_set(&err, PB_E_REFUSED, "earlier problem");
	cr_assert_eq(pb_cmd_parse("\"open", &a, &err), PB_E_INVALID);
	cr_assert_str_eq(pb_err_text(&err), "earlier problem");

	cr_assert_eq(pb_cmd_parse("\"open", &a, NULL), PB_E_INVALID);
	cr_assert_null(a.argv);
	cr_assert_eq(pb_cmd_parse("ok words", &a, NULL), 0);
	cr_assert_eq(a.argc, 2);
	pb_argv_deinit(&a);
	pb_argv_deinit(NULL);
}

Test(parse, argv_is_owned_and_writable)
{
	const char *src = "approve neo4j";
	pb_argv a = {0};
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_cmd_parse(src, &a, &err), 0);
	/* words are separate copies: changing them does not touch the input */
	a.argv[0][0] = 'X';
	cr_assert_str_eq(src, "approve neo4j");
	cr_assert_str_eq(a.argv[0], "Xpprove");
	pb_argv_deinit(&a);
}
