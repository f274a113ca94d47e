/* ghform.h — the TTA validation workflow's body parse in C and line counters, shared by test_ghbody and fuzz_ghbody. */
#ifndef TEST_GHFORM_H
#define TEST_GHFORM_H

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * .github/workflows/component-promotion-validation.yml (theinterneti/TTA)
 * reads `body.match(/### Component Name\s+([^\n]+)/)[1].trim()` (and the same
 * for Current Stage and Target Stage). The POSIX ERE below is the same
 * expression: leftmost match anywhere in the body, \s+ as [[:space:]]+
 * (ASCII whitespace; the bodies' labels are followed by "\n\n"), then the
 * rest of the line, trimmed. test_ghbody also runs the JavaScript original
 * with node (ghbody_regex.mjs) over the golden bodies.
 */
static inline bool ghform_field(const char *body, const char *label, char *out, size_t size)
{
	/* compiled once per label: glibc builds its matcher's tables lazily, per regex_t */
	static struct {
		char label[64];
		regex_t re;
	} cache[8];
	static size_t ncache;
	regmatch_t m[2];
	regex_t *re = NULL;
	size_t b, e;

	for (size_t i = 0; i < ncache && !re; i++)
		if (!strcmp(cache[i].label, label))
			re = &cache[i].re;
	if (!re) {
		char pattern[128];

		if (ncache == sizeof(cache) / sizeof(cache[0]) || strlen(label) >= sizeof(cache[0].label))
			return false;
		snprintf(pattern, sizeof(pattern), "### %s[[:space:]]+([^\n]+)", label);
		if (regcomp(&cache[ncache].re, pattern, REG_EXTENDED))
			return false;
		snprintf(cache[ncache].label, sizeof(cache[ncache].label), "%s", label);
		re = &cache[ncache++].re;
	}
	if (regexec(re, body, 2, m, 0) != 0)
		return false;
	b = (size_t)m[1].rm_so;
	e = (size_t)m[1].rm_eo;
	while (b < e && strchr(" \t\r\v\f", body[b]))
		b++;
	while (e > b && strchr(" \t\r\v\f", body[e - 1]))
		e--;
	if (e - b >= size)
		return false;
	memcpy(out, body + b, e - b);
	out[e - b] = '\0';
	return true;
}

/* Lines of `body` that start with `prefix`. */
static inline int ghform_lines_starting(const char *body, const char *prefix)
{
	int n = 0;

	for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, strlen(prefix)))
			n++;
	return n;
}

/* Occurrences of `needle` in s (overlapping ones counted). */
static inline int ghform_occurrences(const char *s, const char *needle)
{
	int n = 0;

	for (const char *at = strstr(s, needle); at; at = strstr(at + 1, needle))
		n++;
	return n;
}

#endif
