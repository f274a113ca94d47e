/* config_secret.c — reads secrets named by *_env / *_file settings and registers them for redaction. */
#include "pb_config.h"
#include "pb_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tokens and passwords are short; a bigger file is the wrong file. */
#define SECRET_MAX (64 * 1024)

/* Strips trailing "\n" / "\r\n" (files written by editors and `echo`). */
static void strip_newlines(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static char *read_secret_file(const char *path, pb_err *err)
{
	size_t got = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pb_err_set(err, PB_E_NOTFOUND, "cannot read secret file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(SECRET_MAX + 2);
	if (!buf) {
		close(fd);
		pb_err_set(err, -ENOMEM, "out of memory reading secret file %s", path);
		return NULL;
	}
	while (got <= SECRET_MAX) {
		ssize_t n = read(fd, buf + got, SECRET_MAX + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pb_err_set(err, PB_E_NOTFOUND, "cannot read secret file %s: %s", path,
				   strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > SECRET_MAX) {
		pb_err_set(err, PB_E_INVALID, "secret file %s is larger than 64 KiB", path);
		goto fail;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', got)) {
		pb_err_set(err, PB_E_INVALID, "secret file %s contains a NUL byte", path);
		goto fail;
	}
	close(fd);
	return buf;
fail:
	/* The buffer may hold part of a secret: wipe before returning it to malloc. */
	explicit_bzero(buf, SECRET_MAX + 2);
	free(buf);
	close(fd);
	return NULL;
}

char *pb_secret_read(const char *env_name, const char *file_path, pb_err *err)
{
	char *value;

	if (!env_name == !file_path) {
		pb_err_set(err, PB_E_INVALID, "a secret needs exactly one of an environment variable or a file");
		return NULL;
	}
	if (env_name) {
		const char *v = getenv(env_name);

		if (!v) {
			pb_err_set(err, PB_E_NOTFOUND, "environment variable %s is not set", env_name);
			return NULL;
		}
		value = strdup(v);
		if (!value) {
			pb_err_set(err, -ENOMEM, "out of memory reading %s", env_name);
			return NULL;
		}
	} else {
		value = read_secret_file(file_path, err);
		if (!value)
			return NULL;
	}
	strip_newlines(value);
	if (!value[0]) {
		free(value);
		if (env_name)
			pb_err_set(err, PB_E_INVALID, "environment variable %s is empty", env_name);
		else
			pb_err_set(err, PB_E_INVALID, "secret file %s is empty", file_path);
		return NULL;
	}
	pb_log_add_secret(value);
	return value;
}
