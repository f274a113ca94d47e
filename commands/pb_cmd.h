/* pb_cmd.h — the command context, the handler type and the command table. */
#ifndef PB_CMD_H
#define PB_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_card.h"
#include "pb_config.h"
#include "pb_err.h"
#include "pb_services.h"
#include "pb_store.h"

/* Who runs the command. Unknown chat users get roles 0: read-only commands only. */
typedef struct pb_caller {
	const char *id;          /* chat user id */
	const char *name;        /* display name */
	unsigned roles;
} pb_caller;

/*
 * Everything a handler may use: no globals. Handlers emit cards to `sink`
 * and return 0 (success), PB_E_* > 0 (refused/failed, text in `err`), or <0.
 * The dispatcher alone turns a non-zero return into the error card.
 */
typedef struct pb_cmd_ctx {
	const pb_services *svc;  /* store, engine, clock, config, lock owner */
	pb_caller caller;
	bool dry_run;
	pb_sink *sink;
	pb_err err;
} pb_cmd_ctx;

typedef int pb_cmd_fn(pb_cmd_ctx *ctx, int argc, char **argv);

enum {
	PB_CMD_MUTATING = 1u << 0,   /* changes state: accepts --dry-run, serialised per component */
	PB_CMD_REST_IS_TEXT = 1u << 1, /* trailing words are joined into one free-text argument */
	PB_CMD_LOCKS = 1u << 2,      /* argv[1] is a component whose lock is held while it runs */
	PB_CMD_SNAPSHOT = 1u << 3,   /* only reads storage: its reads run in one read transaction */
};

/* One row of the command table: all generic checks are data, run before the handler. */
typedef struct pb_command {
	const char *name;
	const char *args;        /* "<component> <stage> [justification]" */
	int min_args;
	int max_args;            /* after joining free text */
	unsigned roles;          /* any of these roles may run it; 0 = everyone */
	unsigned flags;
	const char *summary;
	pb_cmd_fn *fn;
} pb_command;

/* Every handler, one file each under commands/. */
pb_cmd_fn pb_cmd_help, pb_cmd_request, pb_cmd_validate, pb_cmd_approve, pb_cmd_reject,
	pb_cmd_deploy, pb_cmd_status, pb_cmd_block, pb_cmd_blockers, pb_cmd_unblock,
	pb_cmd_cancel, pb_cmd_complete, pb_cmd_rollback, pb_cmd_history, pb_cmd_report, pb_cmd_lessons;

const pb_command *pb_command_table(size_t *count);
const pb_command *pb_command_find(const char *name);
/* True when `roles` satisfies `required` (admin satisfies everything). */
bool pb_roles_allow(unsigned roles, unsigned required);

/* ---- parsing ---- */
#define PB_CMD_MAX_INPUT 4000   /* bytes of command text */
#define PB_CMD_MAX_ARGS 32
#define PB_CMD_MAX_ARG 1000     /* bytes per argument */

typedef struct pb_argv {
	int argc;
	char **argv;             /* owned, NULL-terminated */
} pb_argv;

/*
 * Splits command text into words: whitespace separates; "double", 'single'
 * and typographic “quotes” group; backslash escapes inside double quotes and
 * bare words. A leading "/promote" is skipped. Rejects invalid UTF-8, control
 * characters, unterminated quotes and the limits above with PB_E_INVALID.
 */
int pb_cmd_parse(const char *text, pb_argv *out, pb_err *err);
void pb_argv_deinit(pb_argv *a);

/* ---- dispatch ---- */
/* Resolves a chat user id to a caller using the config's users (unknown → roles 0). */
pb_caller pb_caller_for(const pb_config *cfg, const char *user_id, const char *fallback_name);

/*
 * Parses and runs one command as `caller`, emitting every reply to `sink`.
 * Returns 0 when the command succeeded, PB_E_* (> 0) when it was refused or
 * failed (an error card was emitted), <0 on internal failure.
 */
int pb_dispatch(const pb_services *svc, const pb_caller *caller, const char *text, pb_sink *sink);

#endif
