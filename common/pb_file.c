/* pb_file.c — whole-file reads and atomic replacement (temp file in the same folder, fsync, rename). */
#include "pb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pb_file_read(const char *path, size_t max, pb_buf *out, pb_err *err)
{
	char chunk[8192];
	size_t total = 0;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		return pb_err_set(err, e == ENOENT ? PB_E_NOTFOUND : -e, "cannot read %s: %s", path, strerror(e));
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = pb_err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		total += (size_t)n;
		if (total > max) {
			r = pb_err_set(err, PB_E_INVALID, "%s is larger than %zu bytes", path, max);
			break;
		}
		if (memchr(chunk, '\0', (size_t)n)) {
			r = pb_err_set(err, PB_E_INVALID, "%s is not a text file (it holds a NUL byte)", path);
			break;
		}
		if (pb_buf_append(out, chunk, (size_t)n)) {
			r = pb_err_set(err, -ENOMEM, "out of memory reading %s", path);
			break;
		}
	}
	close(fd);
	/* an empty file still yields a terminated (empty) string */
	if (r == 0 && pb_buf_append(out, "", 0))
		r = pb_err_set(err, -ENOMEM, "out of memory reading %s", path);
	return r;
}

/* Writes all of data, retrying short writes and EINTR. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int pb_file_stage_write(pb_file_stage *s, const char *path, const void *data, size_t len, pb_err *err)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd, r;

	memset(s, 0, sizeof(*s));
	/* the temp file sits beside the target: "dir/.name.XXXXXX" */
	r = snprintf(s->tmp, sizeof(s->tmp), "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0, path,
		     slash ? slash + 1 : path);
	if (r < 0 || (size_t)r >= sizeof(s->tmp) || strlen(path) >= sizeof(s->target))
		return pb_err_set(err, PB_E_INVALID, "path too long: %s", path);
	pb_strlcpy(s->target, path, sizeof(s->target));
	fd = mkstemp(s->tmp);
	if (fd < 0)
		return pb_err_set(err, -errno, "cannot write beside %s: %s", path, strerror(errno));
	/* keep the target's permission bits (mkstemp makes 0600) */
	if (stat(path, &st) == 0)
		(void)fchmod(fd, st.st_mode & 07777);
	else
		(void)fchmod(fd, 0644);
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r) {
		unlink(s->tmp);
		return pb_err_set(err, r, "cannot write %s: %s", s->tmp, strerror(-r));
	}
	s->staged = true;
	return 0;
}

int pb_file_stage_commit(pb_file_stage *s, pb_err *err)
{
	int r;

	if (!s->staged)
		return pb_err_set(err, -EINVAL, "nothing staged to commit");
	if (rename(s->tmp, s->target) != 0) {
		r = -errno;
		pb_file_stage_discard(s);
		return pb_err_set(err, r, "cannot replace %s: %s", s->target, strerror(-r));
	}
	s->staged = false;
	return 0;
}

void pb_file_stage_discard(pb_file_stage *s)
{
	if (s->staged)
		unlink(s->tmp);
	s->staged = false;
}

int pb_file_write_atomic(const char *path, const void *data, size_t len, pb_err *err)
{
	pb_file_stage s;
	int r = pb_file_stage_write(&s, path, data, len, err);

	return r ? r : pb_file_stage_commit(&s, err);
}
