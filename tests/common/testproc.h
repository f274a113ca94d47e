/* testproc.h — run the real promobot binary from a test: args, stdin, extra env, captured output. */
#ifndef TEST_TESTPROC_H
#define TEST_TESTPROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "pb_str.h"

/*
 * Starts $PROMOBOT_BIN (prefixed by $PROMOBOT_WRAPPER, e.g. valgrind) with `args`
 * (NULL-terminated, without argv[0]); `env` holds extra "NAME=value" entries (or NULL).
 * stdout and stderr go to one pipe. tp_start returns the pid and the read end in *fd;
 * tp_finish feeds nothing more, collects the output and returns the exit status
 * (the test fails if the process died from a signal).
 */
pid_t tp_start(char *const *args, char *const *env, const char *input, int *fd);
int tp_finish(pid_t pid, int fd, pb_buf *out);
/* Like tp_start, but stdin stays open: write to *in_fd, close it to send EOF. */
pid_t tp_start_interactive(char *const *args, char *const *env, int *in_fd, int *out_fd);
/* Appends what is left to read on fd up to EOF (the writer is gone) to out; does not close fd. */
void tp_drain(int fd, pb_buf *out);
/* Both in one call. */
int tp_run(char *const *args, char *const *env, const char *input, pb_buf *out);
/* Reads fd into out until it holds `needle` (true) or timeout_ms pass / EOF (false). */
bool tp_read_until(int fd, pb_buf *out, const char *needle, int timeout_ms);

#endif
