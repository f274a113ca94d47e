/* cmd_help.c — /promote help [command]: only what the caller's roles may run. */
#include "pb_workflow.h"

#include <stdio.h>

static int help_one(pb_cmd_ctx *ctx, const char *name)
{
	const pb_command *cmd = pb_command_find(name);
	char roles[128];
	pb_card *c;

	if (!cmd)
		return pb_err_set(&ctx->err, PB_E_NOTFOUND, "no command \"%s\"; /promote help lists them", name);
	c = pb_cmd_caller_card("Help");
	if (!c)
		return -1;
	pb_card_text(c, "/promote %s %s\n%s", cmd->name, cmd->args, cmd->summary);
	pb_roles_fmt(cmd->roles, roles, sizeof(roles));
	pb_card_field(c, "Roles", "%s", cmd->roles ? roles : "anyone");
	if (cmd->flags & PB_CMD_MUTATING)
		pb_card_field(c, "Dry run", "add --dry-run to see what it would do without doing it");
	if (!pb_roles_allow(ctx->caller.roles, cmd->roles))
		pb_card_field(c, "You", "cannot run this (your roles do not include it)");
	pb_sink_emit(ctx->sink, c);
	pb_card_free(c);
	return 0;
}

int pb_cmd_help(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_command *table;
	char roles[128];
	size_t n;
	pb_buf b;
	pb_card *c;

	if (argc > 1)
		return help_one(ctx, argv[1]);
	table = pb_command_table(&n);
	pb_roles_fmt(ctx->caller.roles, roles, sizeof(roles));
	c = pb_cmd_caller_card("promobot — component promotions from chat");
	if (!c)
		return -1;
	pb_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (!pb_roles_allow(ctx->caller.roles, table[i].roles))
			continue;
		pb_buf_printf(&b, "/promote %s %s\n    %s\n", table[i].name, table[i].args, table[i].summary);
	}
	pb_card_pre(c, pb_buf_str(&b));
	pb_card_field(c, "You", "%s (%s)", ctx->caller.name ? ctx->caller.name : "?", roles);
	pb_card_text(c, "Commands that change something accept --dry-run. /promote help <command> for details.");
	pb_sink_emit(ctx->sink, c);
	pb_card_free(c);
	pb_buf_deinit(&b);
	return 0;
}
