/* console.c — terminal chat adapter: a prompt per user, /as to switch, cards rendered as text. */
#include "pb_console.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb_deploy.h"
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
	pb_text_sink ts;
	pb_services svc;
	pb_caller caller;
	int r = env_open(&svc, cfg, "exec", err);

	if (r)
		return r;
	pb_text_sink_init(&ts, out);
	caller = pb_caller_for(cfg, user, user);
	r = pb_dispatch(&svc, &caller, text, &ts.sink);
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

int pb_console_run(const pb_config *cfg, const char *start_user, FILE *in, FILE *out, pb_err *err)
{
	char line[CONSOLE_LINE_MAX], user[PB_ID_MAX];
	bool tty = isatty(fileno(in));
	pb_text_sink ts;
	pb_services svc;
	int r = env_open(&svc, cfg, "console", err);

	if (r)
		return r;
	pb_strlcpy(user, start_user ? start_user : (cfg->nusers ? cfg->users[0].id : "guest"), sizeof(user));
	pb_text_sink_init(&ts, out);
	fprintf(out, "promobot %s — console chat. Type /promote help, /as <user>, /users, /quit.\n",
		PROMOBOT_VERSION);
	for (;;) {
		pb_caller caller;
		int b;

		fprintf(out, "%s> ", user);
		fflush(out);
		if (!fgets(line, sizeof(line), in))
			break;
		if (!strchr(line, '\n') && !feof(in)) {
			int ch;

			while ((ch = fgetc(in)) != EOF && ch != '\n')
				;
			fprintf(out, "line too long (more than %d bytes); ignored\n", PB_CMD_MAX_INPUT);
			continue;
		}
		strip_newline(line);
		if (!tty)
			fprintf(out, "%s\n", line); /* echo piped input so transcripts read naturally */
		if (!line[0])
			continue;
		b = console_builtin(cfg, line, user, sizeof(user), out);
		if (b < 0)
			break;
		if (b > 0)
			continue;
		caller = pb_caller_for(cfg, user, user);
		pb_dispatch(&svc, &caller, line, &ts.sink);
	}
	fputc('\n', out);
	pb_services_close(&svc);
	return 0;
}
