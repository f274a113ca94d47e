/* console.c — terminal chat adapter: a prompt per user, /as to switch, cards rendered as text. */
#include "pb_console.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb_deploy.h"
#include "pb_ghout.h"
#include "runtime.h"
#include "pb_log.h"
#include "pb_str.h"

#define CONSOLE_LINE_MAX (PB_CMD_MAX_INPUT + 64)

static void text_emit(pb_sink *sink, const pb_card *card)
{
	pb_text_sink *ts = sink->userdata;
	pb_buf b;

	if (card->role == PB_THREAD_PARENT_UPDATE)
		return;
	pb_buf_init(&b);
	if (ts->prefix)
		pb_buf_puts(&b, ts->prefix);
	pb_card_render_text(card, &b);
	if (ts->lock)
		pthread_mutex_lock(ts->lock);
	fputs(pb_buf_str(&b), ts->out);
	if (b.len && b.data[b.len - 1] != '\n')
		fputc('\n', ts->out);
	fflush(ts->out);
	if (ts->lock)
		pthread_mutex_unlock(ts->lock);
	pb_buf_deinit(&b);
}

void pb_text_sink_init(pb_text_sink *ts, FILE *out)
{
	memset(ts, 0, sizeof(*ts));
	ts->sink.emit = text_emit;
	ts->sink.userdata = ts;
	ts->out = out;
}

/* The services of one console/exec session; its lock owner names the kind and the process. */
static int env_open(pb_services *svc, const pb_config *cfg, const char *kind, pb_err *err)
{
	char owner[64];

	snprintf(owner, sizeof(owner), "%s-%ld", kind, (long)getpid());
	return pb_services_open(svc, cfg, NULL, owner, 0, err);
}

int pb_console_exec(const pb_config *cfg, const char *user, const char *text, FILE *out, pb_err *err)
{
	return pb_console_exec_wait(cfg, user, text, 0, out, err);
}

/* Delivers what the command enqueued on GitHub (ops after `mark`), within the bound; says what is left. */
static void exec_deliver(const pb_services *svc, int64_t mark, int64_t wait_ms, FILE *out)
{
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pb_ghout_wait(svc, mark, wait_ms, &e);
	if (r == PB_E_BUSY)
		fprintf(out, "%s\n", pb_err_text(&e));
	else if (r)
		fprintf(out, "GitHub delivery stopped: %s\n", pb_err_text(&e));
}

int pb_console_exec_wait(const pb_config *cfg, const char *user, const char *text, int64_t github_wait_ms,
			 FILE *out, pb_err *err)
{
	pb_text_sink ts;
	pb_services svc;
	pb_caller caller;
	int64_t mark = 0;
	pb_err e;
	int r = env_open(&svc, cfg, "exec", err);

	if (r)
		return r;
	pb_text_sink_init(&ts, out);
	svc.system_sink = &ts.sink;  /* "GitHub issue opened", failures: printed like any card */
	caller = pb_caller_for(cfg, user, user);
	pb_err_init(&e);
	if (svc.github && github_wait_ms > 0 && pb_store_ghops_max_id(svc.store, &mark, &e))
		pb_warn("exec", "GitHub outbox unreadable: %s", pb_err_text(&e));
	r = pb_dispatch(&svc, &caller, text, &ts.sink);
	if (svc.github && github_wait_ms > 0)
		exec_deliver(&svc, mark, github_wait_ms, out);
	pb_services_close(&svc);
	return r;
}

static void list_users(const pb_config *cfg, FILE *out)
{
	char roles[128];

	for (size_t i = 0; i < cfg->nusers; i++) {
		pb_roles_fmt(cfg->users[i].roles, roles, sizeof(roles));
		fprintf(out, "  %-12s %-16s %s\n", cfg->users[i].id, cfg->users[i].name, roles);
	}
}

/* Handles console-only commands; returns 1 when the line was one, -1 to quit. */
static int console_builtin(const pb_config *cfg, char *line, char *user, size_t usize, FILE *out)
{
	if (!strcmp(line, "/quit") || !strcmp(line, "/exit"))
		return -1;
	if (!strcmp(line, "/users")) {
		list_users(cfg, out);
		return 1;
	}
	if (!strncmp(line, "/as", 3) && (line[3] == ' ' || line[3] == '\0')) {
		const char *who = line + 3;

		while (*who == ' ')
			who++;
		if (!*who || !pb_config_user(cfg, who)) {
			fprintf(out, "unknown user \"%s\"; known users:\n", who);
			list_users(cfg, out);
			return 1;
		}
		pb_strlcpy(user, who, usize);
		fprintf(out, "now acting as %s\n", pb_config_user(cfg, who)->name);
		return 1;
	}
	if (line[0] == '/' && strncmp(line, "/promote", 8)) {
		fprintf(out, "console commands: /promote <verb> …, /as <user>, /users, /quit\n");
		return 1;
	}
	return 0;
}

static void strip_newline(char *line)
{
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
}

/*
 * One console session: the reader thread reads lines and runs commands (as
 * the console always did, one at a time); the main thread runs the runtime's
 * loop, so timers and background jobs go on while the prompt waits, and their
 * cards are printed through the system sink. Both write `out` under one lock.
 */
typedef struct console_session {
	const pb_config *cfg;
	FILE *in, *out;
	pthread_mutex_t out_lock;
	pb_text_sink ts;         /* replies to the typed commands */
	pb_sink system;          /* cards nobody typed for: printed, then the prompt again */
	pb_runtime *rt;
	char user[PB_ID_MAX];    /* the prompt's user (under out_lock) */
	bool at_prompt;          /* the prompt is showing (under out_lock) */
	int result;
	pb_err err;
} console_session;

/* Confirms a card that asks for it once it is printed and flushed (a failed write: handed again later). */
static void system_emit(pb_sink *sink, const pb_card *card)
{
	console_session *cs = sink->userdata;
	bool written;
	pb_buf b;

	if (card->role == PB_THREAD_PARENT_UPDATE)
		return;
	pb_buf_init(&b);
	pb_card_render_text(card, &b);
	pthread_mutex_lock(&cs->out_lock);
	clearerr(cs->out);
	fprintf(cs->out, "%s[promobot] %s", cs->at_prompt ? "\n" : "", pb_buf_str(&b));
	if (b.len && b.data[b.len - 1] != '\n')
		fputc('\n', cs->out);
	if (cs->at_prompt)
		fprintf(cs->out, "%s> ", cs->user);
	written = fflush(cs->out) == 0 && !ferror(cs->out) && !b.oom;
	pthread_mutex_unlock(&cs->out_lock);
	pb_buf_deinit(&b);
	if (card->acks)
		pb_acks_push(card->acks, card->delivery_id, written, "");
}

static void prompt(console_session *cs)
{
	pthread_mutex_lock(&cs->out_lock);
	fprintf(cs->out, "%s> ", cs->user);
	fflush(cs->out);
	cs->at_prompt = true;
	pthread_mutex_unlock(&cs->out_lock);
}

/* Reads one line; 0 ok, 1 skip (too long: said so), -1 end of input. */
static int read_line(console_session *cs, char *line, size_t size)
{
	if (!fgets(line, (int)size, cs->in))
		return -1;
	pthread_mutex_lock(&cs->out_lock);
	cs->at_prompt = false;
	pthread_mutex_unlock(&cs->out_lock);
	if (!strchr(line, '\n') && !feof(cs->in)) {
		int ch;

		while ((ch = fgetc(cs->in)) != EOF && ch != '\n')
			;
		pthread_mutex_lock(&cs->out_lock);
		fprintf(cs->out, "line too long (more than %d bytes); ignored\n", PB_CMD_MAX_INPUT);
		pthread_mutex_unlock(&cs->out_lock);
		return 1;
	}
	strip_newline(line);
	return 0;
}

static void *reader_main(void *arg)
{
	console_session *cs = arg;
	char line[CONSOLE_LINE_MAX];
	bool tty = isatty(fileno(cs->in));
	pb_services svc;

	cs->result = env_open(&svc, cs->cfg, "console", &cs->err);
	if (cs->result) {
		pb_runtime_stop(cs->rt);
		return NULL;
	}
	pb_services_set_metrics(&svc, pb_runtime_metrics(cs->rt));
	svc.system_sink = &cs->system;
	for (;;) {
		pb_caller caller;
		int b;

		prompt(cs);
		b = read_line(cs, line, sizeof(line));
		if (b < 0)
			break;
		if (b > 0)
			continue;
		pthread_mutex_lock(&cs->out_lock);
		if (!tty)
			fprintf(cs->out, "%s\n", line); /* echo piped input so transcripts read naturally */
		b = line[0] ? console_builtin(cs->cfg, line, cs->user, sizeof(cs->user), cs->out) : 1;
		caller = pb_caller_for(cs->cfg, cs->user, cs->user);
		pthread_mutex_unlock(&cs->out_lock);
		if (b < 0)
			break;
		if (b == 0)
			pb_dispatch(&svc, &caller, line, &cs->ts.sink);
	}
	pthread_mutex_lock(&cs->out_lock);
	fputc('\n', cs->out);
	fflush(cs->out);
	pthread_mutex_unlock(&cs->out_lock);
	pb_services_close(&svc);
	pb_runtime_stop(cs->rt);
	return NULL;
}

int pb_console_run(const pb_config *cfg, const char *start_user, FILE *in, FILE *out, pb_err *err)
{
	console_session cs = { .cfg = cfg, .in = in, .out = out };
	pthread_t reader;
	int r;

	pthread_mutex_init(&cs.out_lock, NULL);
	pb_err_init(&cs.err);
	pb_strlcpy(cs.user, start_user ? start_user : (cfg->nusers ? cfg->users[0].id : "guest"), sizeof(cs.user));
	pb_text_sink_init(&cs.ts, out);
	cs.ts.lock = &cs.out_lock;
	cs.system.emit = system_emit;
	cs.system.userdata = &cs;
	cs.system.confirms = true;
	r = pb_runtime_new(cfg, "console", &cs.rt, err);
	if (!r) {
		pb_runtime_set_system_sink(cs.rt, &cs.system);
		r = pb_runtime_start(cs.rt, err);
	}
	if (!r) {
		fprintf(out, "promobot %s — console chat. Type /promote help, /as <user>, /users, /quit.\n",
			PROMOBOT_VERSION);
		r = -pthread_create(&reader, NULL, reader_main, &cs);
		if (r)
			pb_err_set(err, r, "console: cannot start the reader thread");
	}
	if (!r) {
		r = pb_runtime_run(cs.rt, err);
		/* the reader may still sit in fgets after a loop failure: it ends at EOF or /quit */
		pthread_join(reader, NULL);
		if (!r && cs.result)
			r = pb_err_set(err, cs.result, "%s", pb_err_text(&cs.err));
	}
	pb_runtime_free(cs.rt);
	pthread_mutex_destroy(&cs.out_lock);
	return r;
}
