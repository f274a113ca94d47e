/* check_online.h — promobot --check-config --online: what only the live services can confirm. */
#ifndef PB_CHECK_ONLINE_H
#define PB_CHECK_ONLINE_H

#include "pb_config.h"

/*
 * Checks a loaded (valid) config against the live services, each finding
 * under the config path it belongs to ("github.token_env: …",
 * "components[0].github_repo: …"); secrets are never part of the text.
 *
 *   GitHub: the PAT (GET /user) or the App (JWT → installation token);
 *   per component repository: access (GET /repos/{o}/{r}), write permission
 *   where GitHub reports it (a classic PAT's user), the lifecycle labels and
 *   component:<id> (missing ones are warnings: the bot creates them).
 *   A component validating with github_workflow: the workflow file exists.
 *   Slack (platform slack): auth.test with the bot token.
 *   Docker (a docker section): GET /_ping.
 *   Storage: connects (no migration, no write) and says in `storage` which
 *   backend answered and its schema version; a failure is a problem.
 *
 * `problems` make the check fail; `warnings` and `notes` (what cannot be
 * verified with this kind of credential) do not. Returns 0, or -ENOMEM.
 */
typedef struct pb_online_report {
	pb_problems problems;
	pb_problems warnings;
	pb_problems notes;
	char storage[512];    /* "sqlite: connected, schema v9 …" / "postgres: …" / why not */
} pb_online_report;

int pb_check_online(const pb_config *cfg, pb_online_report *out);

struct pb_github;
/*
 * The single checks, for config keys other branches add (a component's
 * validation workflow, the Project board): `path` is the config path the
 * finding belongs to.
 *   workflow: GET /repos/{o}/{r}/actions/workflows/{file}, 404 → a problem.
 *   project: GraphQL node(id:) of the Project and of each field id.
 */
void pb_check_online_workflow(struct pb_github *gh, const char *repo, const char *file, const char *path,
			      pb_online_report *out);
void pb_check_online_project(struct pb_github *gh, const char *project_id, const char *const *field_ids,
			     size_t nfields, const char *path, pb_online_report *out);
void pb_online_report_deinit(pb_online_report *r);

#endif
