/* golden.c — reads golden MATURITY.md files (GOLDEN_DIR) and makes their CRLF variants. */
#include "golden.h"

#include <criterion/criterion.h>
#include <stdio.h>

#include "pb_file.h"
#include "pb_str.h"

char *golden(const char *name)
{
	char path[512];
	pb_buf b;
	pb_err e;

	snprintf(path, sizeof(path), "%s/maturity/%s", GOLDEN_DIR, name);
	pb_buf_init(&b);
	pb_err_init(&e);
	cr_assert_eq(pb_file_read(path, 1 << 20, &b, &e), 0, "%s", pb_err_text(&e));
	return pb_buf_steal(&b);
}

char *crlf(const char *s)
{
	pb_buf b;

	pb_buf_init(&b);
	for (; *s; s++)
		pb_buf_puts(&b, *s == '\n' ? "\r\n" : (char[]){ *s, 0 });
	return pb_buf_steal(&b);
}
