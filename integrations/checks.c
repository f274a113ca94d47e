/* checks.c — runs one local validation check: argv without a shell, own process group, deadline, bounded output. */
#include "pb_checks.h"

#include "pb_clock.h"
#include "pb_lane.h"
#include "pb_str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* From linux/close_range.h (5.11+); an older kernel returns EINVAL and we carry on. */
#define PB_CLOSE_RANGE_CLOEXEC (1u << 2)

/* What the child reports through the exec-status pipe before _exit. */
enum { STEP_CHDIR = 1, STEP_EXEC = 2 };

typedef struct child_report {
	int step;
	int err;
} child_report;

/* Everything the child needs, prepared before fork so the child only makes
 * async-signal-safe calls. */
typedef struct launch {
	const char *const *argv;
	const char *path;      /* resolved executable (malloc'd) */
	const char *cwd;
	int devnull;
	int out_w;             /* write end of the output pipe */
	int status_w;          /* write end of the CLOEXEC exec-status pipe */
	bool has_cpus;
	cpu_set_t cpus;        /* the process's CPUs, for a check started by a pinned worker */
} launch;

/*
 * execvp()'s PATH search, done in the parent: execvp is not on the
 * async-signal-safe list, execve is. A name with a slash is used as is
 * (relative to the check's cwd, as execvp would after chdir). Returns a
 * malloc'd path, or NULL when no executable candidate exists (errno set).
 */
static char *resolve_argv0(const char *name)
{
	const char *path = getenv("PATH");
	int saved = ENOENT;

	if (!name[0]) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(name, '/'))
		return strdup(name);
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	while (path) {
		const char *colon = strchr(path, ':');
		size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
		char cand[PATH_MAX];
		struct stat st;
		int n;

		if (dlen == 0)
			n = snprintf(cand, sizeof(cand), "%s", name); /* empty entry = cwd */
		else
			n = snprintf(cand, sizeof(cand), "%.*s/%s", (int)dlen, path, name);
		path = colon ? colon + 1 : NULL;
		if (n < 0 || (size_t)n >= sizeof(cand))
			continue;
		if (stat(cand, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (access(cand, X_OK) == 0)
			return strdup(cand);
		saved = EACCES; /* like execvp: remember it was there but not runnable */
	}
	errno = saved;
	return NULL;
}

/* Child side: async-signal-safe calls only (setpgid, sigaction, sigprocmask,
 * raw close_range syscall, chdir, dup2, execve, write, _exit). */
static void __attribute__((noreturn)) child_exec(const launch *l)
{
	child_report rep = { 0, 0 };
	struct sigaction dfl;
	sigset_t none;

	/* Our own group so a timeout kills everything the check started. */
	setpgid(0, 0);
	/* Ignored signals and the blocked mask survive exec: give the check a clean slate. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A worker pinned to the CPU lanes (worker_pin) must not pin its check: the raw syscall, like close_range. */
	if (l->has_cpus)
		syscall(SYS_sched_setaffinity, 0, sizeof(l->cpus), &l->cpus);
	/* The bot's own descriptors (chat socket, database) opened without
	 * O_CLOEXEC must not leak into a check; status_w stays open until exec. */
#ifdef SYS_close_range
	syscall(SYS_close_range, 3u, ~0u, PB_CLOSE_RANGE_CLOEXEC);
#endif
	if (l->cwd && chdir(l->cwd) != 0) {
		rep.step = STEP_CHDIR;
		rep.err = errno;
		goto fail;
	}
	if (dup2(l->devnull, STDIN_FILENO) < 0 || dup2(l->out_w, STDOUT_FILENO) < 0 ||
	    dup2(l->out_w, STDERR_FILENO) < 0) {
		rep.step = STEP_EXEC;
		rep.err = errno;
		goto fail;
	}
	execve(l->path, (char *const *)l->argv, environ);
	rep.step = STEP_EXEC;
	rep.err = errno;
fail:
	if (write(l->status_w, &rep, sizeof(rep)) < 0) {
		/* nothing more we can say */
	}
	_exit(127);
}

static void set_exec_error(pb_check_result *r, const char *name, int err)
{
	r->outcome = PB_CHECK_NOT_FOUND;
	if (err == ENOENT)
		snprintf(r->error, sizeof(r->error), "%s: not found", name);
	else if (err == EACCES)
		snprintf(r->error, sizeof(r->error), "%s: permission denied", name);
	else
		snprintf(r->error, sizeof(r->error), "%s: cannot execute: %s", name, strerror(err));
}

/* Waits for exec (the CLOEXEC pipe closes) or the child's report of why it failed. */
static bool read_child_report(int fd, child_report *rep)
{
	for (;;) {
		ssize_t n = read(fd, rep, sizeof(*rep));

		if (n < 0 && errno == EINTR)
			continue;
		return n == (ssize_t)sizeof(*rep);
	}
}

/* Output collection state: the first `cap` bytes are kept, the rest counted. */
typedef struct sink {
	char *buf;
	size_t len, cap, dropped;
} sink;

/* Reads what is available, at most DRAIN_ROUNDS chunks so a child that writes
 * faster than we read cannot keep us from checking the deadline; returns
 * false at EOF or on a read error. */
#define DRAIN_ROUNDS 16

static bool drain(int fd, sink *s)
{
	char chunk[65536];

	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		size_t keep;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		keep = s->cap - s->len < (size_t)n ? s->cap - s->len : (size_t)n;
		memcpy(s->buf + s->len, chunk, keep);
		s->len += keep;
		s->dropped += (size_t)n - keep;
	}
	return true;
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* True once the child has exited (left as a zombie so its pid/pgid cannot be reused). */
static bool child_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

/*
 * The poll loop: collects output until the pipe closes and the child has
 * exited, or the deadline passes. Returns true on timeout (child still
 * running). When the child exits first, stragglers in its group (background
 * jobs holding the pipe) are killed so a check cannot outlive itself.
 */
static bool supervise(pid_t pid, int out_r, sink *s, int64_t deadline)
{
	int pidfd = pidfd_open_compat(pid);
	bool open_out = true, exited = false;

	while (open_out || !exited) {
		struct pollfd pfd[2];
		int64_t left = deadline - pb_clock_mono_ms(NULL);
		nfds_t n = 0;
		int timeout, rc;

		if (left <= 0)
			break;
		/* Without a pidfd, exit is noticed by polling at a short interval. */
		timeout = left > INT_MAX ? INT_MAX : (int)left;
		if (!exited && pidfd < 0 && timeout > 50)
			timeout = 50;
		if (open_out)
			pfd[n++] = (struct pollfd){ .fd = out_r, .events = POLLIN };
		if (!exited && pidfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		pb_lane_leave(); /* the check's child runs: this job uses no CPU meanwhile */
		rc = poll(pfd, n, timeout);
		pb_lane_enter();
		if (rc < 0 && errno != EINTR)
			break;
		if (open_out && rc > 0 && pfd[0].revents)
			open_out = drain(out_r, s);
		if (!exited && child_exited(pid)) {
			exited = true;
			kill(-pid, SIGKILL); /* the zombie still owns the pgid: no reuse race */
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return !exited;
}

static double extract_coverage(const char *re, const char *text)
{
	regmatch_t m[2];
	regex_t rx;
	double v = -1;

	if (!re || regcomp(&rx, re, REG_EXTENDED) != 0)
		return -1;
	if (rx.re_nsub >= 1 && regexec(&rx, text, 2, m, 0) == 0 && m[1].rm_so >= 0) {
		char num[64];
		size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);
		char *end;

		if (len > 0 && len < sizeof(num)) {
			memcpy(num, text + m[1].rm_so, len);
			num[len] = '\0';
			v = strtod(num, &end);
			/* a check's output is outside input: "inf", "nan", "1e999" or 250 are no percentage */
			if (*end || !isfinite(v) || v < 0 || v > 100)
				v = -1;
		}
	}
	regfree(&rx);
	return v;
}

/* Reaps the child and turns its status into the outcome. */
static void reap(pid_t pid, bool timed_out, const char *name, pb_check_result *r)
{
	int status = 0;
	pid_t w;

	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0) {
		/* Happens when the process ignores SIGCHLD: the kernel reaped it for us. */
		r->outcome = PB_CHECK_ERROR;
		snprintf(r->error, sizeof(r->error), "%s: exit status lost: %s", name,
			 strerror(errno));
	} else if (timed_out) {
		r->outcome = PB_CHECK_TIMEOUT;
	} else if (WIFEXITED(status)) {
		r->outcome = PB_CHECK_EXITED;
		r->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->outcome = PB_CHECK_SIGNALLED;
		r->signal = WTERMSIG(status);
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Forks, supervises and reaps the child; fills outcome, status and output. */
static void run_child(const pb_check_spec *spec, launch *l, int out_r, int status_r,
		      int64_t deadline, pb_check_result *r, sink *s)
{
	child_report rep;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		r->outcome = PB_CHECK_ERROR;
		snprintf(r->error, sizeof(r->error), "cannot start %s: fork: %s", spec->argv[0],
			 strerror(errno));
		return;
	}
	if (pid == 0)
		child_exec(l);
	/* Close our copies of the child's ends so EOF means "all writers gone". */
	close_fd(&l->out_w);
	close_fd(&l->status_w);
	/* Also set here: a timeout kill must find the group even if the child
	 * has not run its own setpgid yet (EACCES after exec is harmless). */
	setpgid(pid, pid);
	if (read_child_report(status_r, &rep)) {
		reap(pid, false, spec->argv[0], r);
		if (rep.step == STEP_CHDIR) {
			r->outcome = PB_CHECK_ERROR;
			snprintf(r->error, sizeof(r->error), "cannot enter %s: %s", spec->cwd,
				 strerror(rep.err));
		} else {
			set_exec_error(r, spec->argv[0], rep.err);
		}
		return;
	}
	if (supervise(pid, out_r, s, deadline)) {
		kill(-pid, SIGKILL);
		reap(pid, true, spec->argv[0], r);
	} else {
		reap(pid, false, spec->argv[0], r);
	}
}

/* Moves a descriptor above stdio: when the bot runs with 0/1/2 closed a pipe
 * could land there and the child's dup2 onto 0..2 would clobber or no-op it. */
static int lift(int *fd)
{
	int nfd;

	if (*fd > STDERR_FILENO)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* Creates both pipes and /dev/null, all CLOEXEC (dup2 in the child clears it). */
static int open_fds(int *out_r, int *status_r, launch *l)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	*out_r = p[0];
	l->out_w = p[1];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	*status_r = p[0];
	l->status_w = p[1];
	l->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (l->devnull < 0)
		return -errno;
	if (lift(out_r) || lift(&l->out_w) || lift(status_r) || lift(&l->status_w) ||
	    lift(&l->devnull))
		return -EMFILE;
	/* Non-blocking read end so drain() empties it without stalling the deadline. */
	if (fcntl(*out_r, F_SETFL, O_NONBLOCK) != 0)
		return -errno;
	return 0;
}

int pb_check_run(const pb_check_spec *spec, pb_check_result *out)
{
	launch l = { .out_w = -1, .status_w = -1, .devnull = -1 };
	int64_t start = pb_clock_mono_ms(NULL);
	int out_r = -1, status_r = -1;
	sink s = { 0 };
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->coverage = -1;
	out->outcome = PB_CHECK_ERROR;
	if (!spec || !spec->argv || !spec->argv[0] || spec->timeout_s <= 0 ||
	    spec->max_output == 0 || spec->max_output > SIZE_MAX / 2)
		return -EINVAL;
	s.cap = spec->max_output;
	s.buf = malloc(s.cap + 1);
	if (!s.buf) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		goto done;
	}
	l.argv = spec->argv;
	l.cwd = spec->cwd;
	/* The main thread's mask is the process's: only the lanes' threads are pinned (bot/lanes.h). */
	l.has_cpus = sched_getaffinity(getpid(), sizeof(l.cpus), &l.cpus) == 0;
	l.path = resolve_argv0(spec->argv[0]);
	if (!l.path) {
		set_exec_error(out, spec->argv[0], errno);
		goto done;
	}
	rc = open_fds(&out_r, &status_r, &l);
	if (rc < 0) {
		snprintf(out->error, sizeof(out->error), "cannot start %s: %s", spec->argv[0],
			 strerror(-rc));
		goto done;
	}
	run_child(spec, &l, out_r, status_r, start + (int64_t)spec->timeout_s * 1000, out, &s);
done:
	close_fd(&out_r);
	close_fd(&status_r);
	close_fd(&l.out_w);
	close_fd(&l.status_w);
	close_fd(&l.devnull);
	free((char *)l.path);
	if (s.buf)
		s.buf[s.len] = '\0';
	out->output = s.buf ? s.buf : strdup("");
	out->output_len = s.len;
	out->output_dropped = s.dropped;
	out->duration_ms = (long)(pb_clock_mono_ms(NULL) - start);
	if (out->output && (out->outcome == PB_CHECK_EXITED || out->outcome == PB_CHECK_SIGNALLED ||
			    out->outcome == PB_CHECK_TIMEOUT))
		out->coverage = extract_coverage(spec->coverage_regex, out->output);
	return 0;
}

void pb_check_result_deinit(pb_check_result *r)
{
	if (!r)
		return;
	free(r->output);
	r->output = NULL;
	r->output_len = 0;
}

bool pb_check_passed(const pb_check_result *r)
{
	return r && r->outcome == PB_CHECK_EXITED && r->exit_code == 0;
}
