/* table.c — the command table: name, arguments, arity, roles and flags are data checked centrally. */
#include "pb_cmd.h"

#include <string.h>

#define ANY_MEMBER (PB_ROLE_REQUESTER | PB_ROLE_APPROVER | PB_ROLE_DEPLOYER)

static const pb_command commands[] = {
	{ "help", "[command]", 0, 1, 0, 0,
	  "what you can run here, or how one command works", pb_cmd_help },
	{ "status", "[component]", 0, 1, 0, PB_CMD_SNAPSHOT,
	  "every component's stage, or one component's promotion, checklist and blockers", pb_cmd_status },
	{ "request", "<component> <stage> [justification]", 2, 3, PB_ROLE_REQUESTER,
	  PB_CMD_MUTATING | PB_CMD_REST_IS_TEXT | PB_CMD_LOCKS,
	  "start a promotion to the next stage and open its thread", pb_cmd_request },
	{ "validate", "<component>", 1, 1, ANY_MEMBER, PB_CMD_MUTATING | PB_CMD_LOCKS,
	  "run the component's checks and map them to the stage's criteria", pb_cmd_validate },
	{ "approve", "<component> [comment]", 1, 2, PB_ROLE_APPROVER,
	  PB_CMD_MUTATING | PB_CMD_REST_IS_TEXT | PB_CMD_LOCKS,
	  "approve the validated revision (never your own request)", pb_cmd_approve },
	{ "reject", "<component> <reason>", 2, 2, PB_ROLE_APPROVER,
	  PB_CMD_MUTATING | PB_CMD_REST_IS_TEXT | PB_CMD_LOCKS,
	  "send the promotion back to blocked, with the reason", pb_cmd_reject },
	{ "deploy", "<component>", 1, 1, PB_ROLE_DEPLOYER, PB_CMD_MUTATING | PB_CMD_LOCKS,
	  "deploy the approved component to its target environment", pb_cmd_deploy },
	{ "rollback", "<component>", 1, 1, PB_ROLE_DEPLOYER, PB_CMD_MUTATING | PB_CMD_LOCKS,
	  "restore the previous deployment of an observed promotion", pb_cmd_rollback },
	{ "complete", "<component> [override-reason]", 1, 2, PB_ROLE_APPROVER | PB_ROLE_DEPLOYER,
	  PB_CMD_MUTATING | PB_CMD_REST_IS_TEXT | PB_CMD_LOCKS,
	  "close the promotion after a PASS verdict (an admin may override with a reason); the component reaches its stage",
	  pb_cmd_complete },
	{ "report", "<component> [day|date]", 1, 2, 0, 0,
	  "a day's monitoring report of the observation (today so far, day N, or YYYY-MM-DD)", pb_cmd_report },
	/*
	 * lessons writes a document file (so it takes --dry-run) but changes no
	 * promotion: it holds no component lock (a deploy holding it for minutes
	 * must not stall a draft; the file is replaced atomically). Any team
	 * member may draft: the requester usually writes the lessons, and the
	 * file lands in the repository folder, which strangers may not touch.
	 */
	{ "lessons", "<component>", 1, 1, ANY_MEMBER, PB_CMD_MUTATING,
	  "draft the lessons-learned document of the latest promotion (metrics from the audit trail), "
	  "posted in its thread and written next to MATURITY.md", pb_cmd_lessons },
	{ "cancel", "<component> [reason]", 1, 2, PB_ROLE_REQUESTER,
	  PB_CMD_MUTATING | PB_CMD_REST_IS_TEXT | PB_CMD_LOCKS,
	  "cancel the open promotion (its requester or an admin)", pb_cmd_cancel },
	{ "block", "<component> <severity> <text>", 3, 3, ANY_MEMBER,
	  PB_CMD_MUTATING | PB_CMD_REST_IS_TEXT,
	  "open a blocker (low, medium, high, critical); critical stops approval and deploy",
	  pb_cmd_block },
	{ "blockers", "<component>", 1, 1, 0, PB_CMD_SNAPSHOT, "list the component's open blockers", pb_cmd_blockers },
	{ "unblock", "<blocker-id>", 1, 1, ANY_MEMBER, PB_CMD_MUTATING,
	  "resolve a blocker", pb_cmd_unblock },
	{ "history", "<component>", 1, 1, 0, PB_CMD_SNAPSHOT, "the component's audit trail", pb_cmd_history },
};

const pb_command *pb_command_table(size_t *count)
{
	*count = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

const pb_command *pb_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

bool pb_roles_allow(unsigned roles, unsigned required)
{
	if (!required || (roles & PB_ROLE_ADMIN))
		return true;
	return (roles & required) != 0;
}
