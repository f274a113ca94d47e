/* pb_file.h — reading a small text file whole, and replacing one atomically (temp file + rename in its folder). */
#ifndef PB_FILE_H
#define PB_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "pb_err.h"
#include "pb_str.h"

/*
 * Reads `path` into out (appended, NUL-terminated). PB_E_INVALID when it is
 * larger than `max` bytes or holds a NUL byte (not a text file); PB_E_NOTFOUND
 * when it does not exist; <0 -errno on other I/O failures. Text in err.
 */
int pb_file_read(const char *path, size_t max, pb_buf *out, pb_err *err);

/*
 * Replacing a file in two steps, so a caller can put a step of its own (a
 * storage commit) between writing and publishing: stage writes the new bytes
 * to a temp file in the target's folder (same file system, so the rename is
 * atomic), flushed to disk with the target's permission bits; commit renames
 * it over the target; discard removes a staged file not committed. A reader
 * sees the old file or the new one, never half of either.
 */
typedef struct pb_file_stage {
	char tmp[PATH_MAX];
	char target[PATH_MAX];
	bool staged;
} pb_file_stage;

/* 0, or <0 -errno / PB_E_INVALID (path too long) with text in err; nothing is left behind on failure. */
int pb_file_stage_write(pb_file_stage *s, const char *path, const void *data, size_t len, pb_err *err);
/* Renames the staged file over its target. 0, or <0 -errno (the staged file is removed). */
int pb_file_stage_commit(pb_file_stage *s, pb_err *err);
/* Removes a staged file that was not committed; safe to call always. */
void pb_file_stage_discard(pb_file_stage *s);

/* stage + commit in one call. */
int pb_file_write_atomic(const char *path, const void *data, size_t len, pb_err *err);

#endif
