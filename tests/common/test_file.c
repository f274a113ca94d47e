/* test_file.c — whole-file reads and the staged atomic replace (temp beside the target, rename, discard). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb_file.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/promobot-file-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/MATURITY.md", dir);
}

/* Files in the folder (the temp files must not stay). */
static int entries(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void teardown(void)
{
	unlink(path);
	cr_expect_eq(entries(), 0, "nothing left behind");
	rmdir(dir);
}

TestSuite(file, .init = setup, .fini = teardown);

static void put(const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

Test(file, read_whole_text_and_refuse_what_is_not_one)
{
	pb_buf b;
	pb_err e;

	pb_buf_init(&b);
	pb_err_init(&e);
	cr_expect_eq(pb_file_read(path, 100, &b, &e), PB_E_NOTFOUND);
	cr_expect(strstr(pb_err_text(&e), "cannot read"), "%s", pb_err_text(&e));
	put("line 1\r\nline 2", 14);
	pb_err_init(&e);
	cr_assert_eq(pb_file_read(path, 100, &b, &e), 0, "%s", pb_err_text(&e));
	cr_expect_str_eq(pb_buf_str(&b), "line 1\r\nline 2");
	pb_buf_reset(&b);
	pb_err_init(&e);
	cr_expect_eq(pb_file_read(path, 10, &b, &e), PB_E_INVALID, "larger than the bound");
	put("a\0b", 3);
	pb_buf_reset(&b);
	pb_err_init(&e);
	cr_expect_eq(pb_file_read(path, 100, &b, &e), PB_E_INVALID, "a NUL byte: not text");
	pb_buf_deinit(&b);
}

Test(file, staged_write_replaces_on_commit_keeps_the_mode_and_discard_leaves_nothing)
{
	pb_file_stage s;
	struct stat st;
	pb_buf b;
	pb_err e;

	put("old\n", 4);
	chmod(path, 0640);
	pb_err_init(&e);
	cr_assert_eq(pb_file_stage_write(&s, path, "new\n", 4, &e), 0, "%s", pb_err_text(&e));
	cr_expect_eq(entries(), 2, "the temp file sits beside the target");
	pb_buf_init(&b);
	cr_assert_eq(pb_file_read(path, 100, &b, &e), 0);
	cr_expect_str_eq(pb_buf_str(&b), "old\n", "not published before commit");
	cr_assert_eq(pb_file_stage_commit(&s, &e), 0, "%s", pb_err_text(&e));
	pb_buf_reset(&b);
	cr_assert_eq(pb_file_read(path, 100, &b, &e), 0);
	cr_expect_str_eq(pb_buf_str(&b), "new\n");
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640, "mode kept: %o", st.st_mode & 0777);
	cr_expect_eq(entries(), 1);
	cr_assert_eq(pb_file_stage_write(&s, path, "never\n", 6, &e), 0);
	pb_file_stage_discard(&s);
	pb_buf_reset(&b);
	cr_assert_eq(pb_file_read(path, 100, &b, &e), 0);
	cr_expect_str_eq(pb_buf_str(&b), "new\n");
	cr_expect_eq(entries(), 1);
	pb_buf_deinit(&b);
}

Test(file, writing_into_a_missing_folder_fails_with_the_reason)
{
	char missing[200];
	pb_err e;

	snprintf(missing, sizeof(missing), "%s/no/such/LESSONS.md", dir);
	pb_err_init(&e);
	cr_expect_lt(pb_file_write_atomic(missing, "x", 1, &e), 0);
	cr_expect(strstr(pb_err_text(&e), "No such file or directory"), "%s", pb_err_text(&e));
}
