/* pb_ghops.h — composite GitHub steps of a completion: the MATURITY.md commit and the Project (v2) item. */
#ifndef PB_GHOPS_H
#define PB_GHOPS_H

#include <stddef.h>
#include <stdint.h>

#include "github.h"
#include "pb_config.h"
#include "pb_err.h"

/*
 * The facts a completed promotion gives these steps. Everything
 * repository-specific (which repository, the MATURITY.md path inside it,
 * whether to go through a pull request, the Project and its fields/options)
 * is read from `cfg` by the implementation, so the outbox only stores these
 * facts as its payload.
 */
typedef struct pb_ghops_completion {
	const char *component;      /* config id ("neo4j") */
	pb_stage from;              /* stage left */
	pb_stage to;                /* stage reached */
	const char *date;           /* "YYYY-MM-DD": the team's local date of the completion */
	int64_t promotion_id;
	int64_t issue_number;       /* 0 when the promotion has no issue */
} pb_ghops_completion;

/*
 * Both steps are safe to repeat (the outbox repeats them after a crash or an
 * unknown outcome): the MATURITY.md edit is idempotent (pb_maturity_apply
 * adds nothing the second time, and then nothing is committed), Project
 * field values are absolute, and adding an item that is already on the
 * Project returns the existing item.
 *
 * Returns 0 when done — including "nothing to do" (not configured for this
 * component, file already up to date); `summary` (may be NULL) then says
 * what happened in one line ("MATURITY.md updated in o/r (commit abc1234)",
 * "Project: Status set to 🧪 Staging"). PB_E_UNAVAILABLE: try again later
 * (5xx, rate limits, timeouts, 409 retries exhausted). PB_E_NOTFOUND,
 * PB_E_REFUSED, PB_E_INVALID: permanent, err says what and where.
 */
int pb_ghops_maturity(pb_github *g, const pb_config *cfg, const pb_ghops_completion *c, char *summary,
		      size_t size, pb_err *err);
int pb_ghops_project(pb_github *g, const pb_config *cfg, const pb_ghops_completion *c, char *summary,
		     size_t size, pb_err *err);

/*
 * For --check-config --online: the configured Project exists and has the
 * Status, Current Stage and Last Updated fields with an option for every
 * stage a promotion can reach. Changes nothing. 0 when fine or no Project is
 * configured; otherwise err names the problem and its config key.
 */
int pb_ghops_project_check(pb_github *g, const pb_config *cfg, pb_err *err);

#endif
