/* pb_str.h — growable string buffer and small bounded-string helpers. */
#ifndef PB_STR_H
#define PB_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pb_buf {
	char *data;   /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	int oom;      /* sticky: an allocation failed, contents are truncated */
} pb_buf;

void pb_buf_init(pb_buf *b);
void pb_buf_deinit(pb_buf *b);
void pb_buf_reset(pb_buf *b);
int pb_buf_append(pb_buf *b, const void *data, size_t len);
int pb_buf_puts(pb_buf *b, const char *s);
int pb_buf_printf(pb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns data ("" when empty); never NULL. */
const char *pb_buf_str(const pb_buf *b);
/* Transfers ownership of the string to the caller; b is reset. */
char *pb_buf_steal(pb_buf *b);

/* Copies at most size-1 bytes, always terminates; returns strlen(src). */
size_t pb_strlcpy(char *dst, const char *src, size_t size);
/* True when s is valid UTF-8 (no overlongs, no surrogates). */
bool pb_utf8_valid(const char *s, size_t len);
/* Counts code points of valid UTF-8. */
size_t pb_utf8_len(const char *s);
/* Formats an epoch as "2026-11-25 09:07 UTC". */
void pb_time_fmt(int64_t epoch, char *out, size_t size);
/* strdup that accepts NULL. */
char *pb_strdup0(const char *s);
/* Parses a base-10 long with full-string and range checks; 0 ok, PB_E_INVALID otherwise. */
int pb_parse_long(const char *s, long min, long max, long *out);

#endif
