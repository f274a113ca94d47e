/* dispatch.c — parse, check (existence, dry-run, arity, role, lock) centrally, then run the handler. */
#include "pb_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_log.h"
#include "pb_str.h"

pb_caller pb_caller_for(const pb_config *cfg, const char *user_id, const char *fallback_name)
{
	const pb_user *u = pb_config_user(cfg, user_id);
	pb_caller c;

	c.id = user_id;
	c.name = u ? u->name : (fallback_name && *fallback_name ? fallback_name : user_id);
	c.roles = u ? u->roles : 0;
	return c;
}

static void emit_error(pb_sink *sink, const char *title, const char *text)
{
	pb_card *c = pb_card_new(title);

	if (!c)
		return;
	c->is_error = true;
	c->audience = PB_AUDIENCE_CALLER;
	pb_card_text(c, "%s", text);
	pb_sink_emit(sink, c);
	pb_card_free(c);
}

static const char *title_for(int r)
{
	switch (r) {
	case PB_E_INVALID: return "Usage";
	case PB_E_NOTFOUND: return "Not found";
	case PB_E_REFUSED: return "Refused";
	case PB_E_BUSY: return "Busy";
	case PB_E_CONFLICT: return "Conflict";
	case PB_E_UNAVAILABLE: return "Unavailable";
	case PB_E_FAILED: return "Failed";
	default: return "Internal error";
	}
}

static int usage_error(pb_sink *sink, const pb_command *cmd, const char *why)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s\nusage: /promote %s %s", why, cmd->name, cmd->args);
	emit_error(sink, "Usage", text);
	return PB_E_INVALID;
}

/* Removes every "--dry-run" word; returns whether one was present. */
static bool take_dry_run(pb_argv *a)
{
	bool found = false;
	int w = 0;

	for (int i = 0; i < a->argc; i++) {
		if (!strcmp(a->argv[i], "--dry-run")) {
			free(a->argv[i]);
			found = true;
			continue;
		}
		a->argv[w++] = a->argv[i];
	}
	a->argc = w;
	a->argv[w] = NULL;
	return found;
}

/* Joins argv[from..] into argv[from] so free text arrives as one argument. */
static int join_rest(pb_argv *a, int from)
{
	pb_buf b;

	if (a->argc <= from + 1)
		return 0;
	pb_buf_init(&b);
	for (int i = from; i < a->argc; i++) {
		pb_buf_printf(&b, "%s%s", i > from ? " " : "", a->argv[i]);
		if (i > from)
			free(a->argv[i]);
	}
	if (b.oom) {
		pb_buf_deinit(&b);
		return -1;
	}
	free(a->argv[from]);
	a->argv[from] = pb_buf_steal(&b);
	a->argc = from + 1;
	a->argv[a->argc] = NULL;
	return 0;
}

static int check_arity(pb_argv *a, const pb_command *cmd, pb_sink *sink)
{
	int nargs = a->argc - 1;
	char why[256];

	if ((cmd->flags & PB_CMD_REST_IS_TEXT) && nargs > cmd->max_args &&
	    join_rest(a, cmd->max_args) < 0)
		return -1;
	nargs = a->argc - 1;
	if (nargs >= cmd->min_args && nargs <= cmd->max_args)
		return 0;
	if (cmd->min_args == cmd->max_args)
		snprintf(why, sizeof(why), "%s takes %d argument%s, got %d.", cmd->name,
			 cmd->min_args, cmd->min_args == 1 ? "" : "s", nargs);
	else
		snprintf(why, sizeof(why), "%s takes %d to %d arguments, got %d.", cmd->name,
			 cmd->min_args, cmd->max_args, nargs);
	return usage_error(sink, cmd, why);
}

static int check_role(const pb_caller *caller, const pb_command *cmd, pb_sink *sink)
{
	char have[128], need[128], text[512];

	if (pb_roles_allow(caller->roles, cmd->roles))
		return 0;
	pb_roles_fmt(caller->roles, have, sizeof(have));
	pb_roles_fmt(cmd->roles, need, sizeof(need));
	snprintf(text, sizeof(text), "%s needs one of these roles: %s. %s has: %s.%s", cmd->name, need,
		 caller->name, have,
		 caller->roles ? "" : " Unknown users can run read-only commands only (help, status, blockers, history).");
	emit_error(sink, "Not allowed", text);
	return PB_E_REFUSED;
}

static void unknown_command(const char *name, pb_sink *sink)
{
	const pb_command *table;
	size_t n;
	pb_buf b;

	table = pb_command_table(&n);
	pb_buf_init(&b);
	pb_buf_printf(&b, "unknown command \"%s\". Commands: ", name);
	for (size_t i = 0; i < n; i++)
		pb_buf_printf(&b, "%s%s", i ? ", " : "", table[i].name);
	pb_buf_puts(&b, ". Try /promote help");
	emit_error(sink, "Usage", pb_buf_str(&b));
	pb_buf_deinit(&b);
}

/*
 * Mutations on one component are serialised: a short command that arrives
 * while another holds the lock (two approvers clicking at once) waits a
 * moment instead of failing; a long holder (validate, deploy) still gets a
 * clear "busy" naming who holds it once the wait is over.
 */
#define PB_LOCK_WAIT_MS 2000

static int lock_with_wait(pb_cmd_ctx *ctx, const char *component, const char *purpose)
{
	const pb_services *svc = ctx->svc;
	int64_t deadline = pb_clock_mono_ms(svc->clock) + PB_LOCK_WAIT_MS;
	int64_t pause_ms = 10;
	pb_err attempt;
	int r;

	for (;;) {
		/* Each attempt words its own "busy" text; only the last one reaches the caller. */
		pb_err_init(&attempt);
		r = pb_store_lock_acquire(svc->store, component, svc->lock_owner, purpose,
					  pb_services_now(svc), &attempt);
		if (r != PB_E_BUSY || pb_clock_mono_ms(svc->clock) >= deadline)
			break;
		pb_clock_sleep_ms(svc->clock, pause_ms);
		if (pause_ms < 200)
			pause_ms *= 2;
	}
	if (r)
		pb_err_set(&ctx->err, r, "%s", pb_err_text(&attempt));
	return r;
}

/* The handler; a read-only one inside one read transaction (pb_store_read_begin says why). */
static int run_reads(pb_cmd_ctx *ctx, const pb_command *cmd, pb_argv *a)
{
	bool opened = false;
	int r;

	if ((cmd->flags & PB_CMD_SNAPSHOT) && ctx->svc->store) {
		r = pb_store_read_begin(ctx->svc->store, &opened, &ctx->err);
		if (r)
			return r;
	}
	r = cmd->fn(ctx, a->argc, a->argv);
	if (opened)
		pb_store_read_end(ctx->svc->store, opened);
	return r;
}

/* Runs the handler with the component lock held for mutating commands. */
static int run_locked(pb_cmd_ctx *ctx, const pb_command *cmd, pb_argv *a)
{
	const char *component = a->argc > 1 ? a->argv[1] : NULL;
	bool locked = false;
	int r;

	if ((cmd->flags & PB_CMD_LOCKS) && !ctx->dry_run && component &&
	    pb_config_component(ctx->svc->cfg, component)) {
		r = lock_with_wait(ctx, component, cmd->name);
		if (r)
			return r;
		locked = true;
	}
	r = run_reads(ctx, cmd, a);
	if (locked)
		pb_store_lock_release(ctx->svc->store, component, ctx->svc->lock_owner);
	return r;
}

/* The result label of promobot_commands_total (a fixed set: bounded cardinality). */
static const char *result_label(int r)
{
	switch (r) {
	case 0: return "ok";
	case PB_E_REFUSED: return "refused";
	case PB_E_INVALID:
	case PB_E_NOTFOUND: return "invalid";
	case PB_E_BUSY: return "busy";
	default: return r > 0 ? "failed" : "error";
	}
}

int pb_dispatch(const pb_services *svc, const pb_caller *caller, const char *text, pb_sink *sink)
{
	const pb_command *cmd;
	pb_cmd_ctx ctx;
	pb_argv a = { 0, NULL };
	bool dry_run;
	int r;

	memset(&ctx, 0, sizeof(ctx));
	pb_err_init(&ctx.err);
	r = pb_cmd_parse(text ? text : "", &a, &ctx.err);
	if (r) {
		emit_error(sink, "Usage", pb_err_text(&ctx.err));
		return r > 0 ? r : PB_E_INVALID;
	}
	dry_run = take_dry_run(&a);
	if (a.argc == 0) {
		static char help[] = "help";
		char *argv[] = { help, NULL };

		pb_argv_deinit(&a);
		ctx.svc = svc;
		ctx.caller = *caller;
		ctx.sink = sink;
		return pb_cmd_help(&ctx, 1, argv);
	}
	cmd = pb_command_find(a.argv[0]);
	if (!cmd) {
		unknown_command(a.argv[0], sink);
		r = PB_E_INVALID;
		goto out;
	}
	if (dry_run && !(cmd->flags & PB_CMD_MUTATING)) {
		r = usage_error(sink, cmd, "--dry-run applies only to commands that change something.");
		goto out;
	}
	r = check_arity(&a, cmd, sink);
	if (r)
		goto out;
	r = check_role(caller, cmd, sink);
	if (r)
		goto out;
	ctx.svc = svc;
	ctx.caller = *caller;
	ctx.dry_run = dry_run;
	ctx.sink = sink;
	r = run_locked(&ctx, cmd, &a);
	if (svc->metrics)
		pb_metric_inc(svc->metrics->commands, PB_LV(cmd->name, result_label(r)));
	if (r) {
		pb_info("dispatch", "%s by %s: %s", cmd->name, caller->id, pb_err_text(&ctx.err));
		emit_error(sink, title_for(r), pb_err_text(&ctx.err));
	}
out:
	pb_argv_deinit(&a);
	return r;
}
