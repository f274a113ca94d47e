/* testproc.h — run the real promobot binary from a test: args, stdin, extra env, captured output. */
#ifndef TEST_TESTPROC_H
#define TEST_TESTPROC_H

#include <stdbool.h>
#include <stdint.h>
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
/*
 * For a long-running bot (a replica): like tp_start, but stdout and stderr are appended to
 * `log_path` (no pipe to drain) and the child is SIGKILLed if the test process dies first.
 * Stop it with kill + tp_wait.
 */
pid_t tp_start_logged(char *const *args, char *const *env, const char *log_path);
/* Waits up to timeout_ms for pid to exit; its wait status, or -1 on timeout (the process is left running). */
int tp_wait(pid_t pid, int timeout_ms);
/* Monotonic milliseconds, for the bounds of polling loops. */
int64_t tp_now_ms(void);
/* One step of a bounded polling loop (20 ms): never a synchronisation by itself. */
void tp_pause(void);
/* The whole file as a malloc'd string ("" when it cannot be read); the caller frees it. */
char *tp_slurp(const char *path);
/*
 * A listening TCP socket on 127.0.0.1:*port (0 = any; *port gets the one bound): the target a
 * tcp health probe connects to. Closing the fd is the outage; listening again on the same port
 * (SO_REUSEADDR) is the recovery. The kernel completes connections without accept().
 */
int tp_listen_loopback(int *port);
/* rm -rf dir, unless PB_TEST_KEEP is set: then it stays and stderr says where. */
void tp_remove_dir(const char *dir);
/* Appends what is left to read on fd up to EOF (the writer is gone) to out; does not close fd. */
void tp_drain(int fd, pb_buf *out);
/* Both in one call. */
int tp_run(char *const *args, char *const *env, const char *input, pb_buf *out);
/* Reads fd into out until it holds `needle` (true) or timeout_ms pass / EOF (false). */
bool tp_read_until(int fd, pb_buf *out, const char *needle, int timeout_ms);

#endif
