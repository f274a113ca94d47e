/* gh_priv.h — what the outbox's engine (gh_deliver.c) hands the op kinds (gh_ops.c). */
#ifndef PB_GH_PRIV_H
#define PB_GH_PRIV_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "github.h"
#include "pb_ghout.h"

/* One op being delivered. */
typedef struct gh_dl {
	const pb_services *svc;
	pb_github *g;
	const pb_ghop *op;
	cJSON *pl;               /* the parsed payload */
	const char *repo;
	bool lookup;             /* an earlier attempt may have reached GitHub: look before repeating */
	char marker[64];
	cJSON *result;           /* what the op created ({"number","url"} / {"id"}), NULL if nothing */
} gh_dl;

/*
 * Runs the op's kind against GitHub: 0 done (d->result may hold what it
 * created), PB_E_UNAVAILABLE / PB_E_BUSY try again, other >0 permanent, <0 fatal.
 * With d->lookup it first looks for what an earlier attempt may have made.
 */
int gh_run_op(gh_dl *d, pb_err *err);

#endif
