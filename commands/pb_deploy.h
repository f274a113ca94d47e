/* pb_deploy.h — the deploy engine seam: commands call it, integrations/ implement the Docker side. */
#ifndef PB_DEPLOY_H
#define PB_DEPLOY_H

#include <stdbool.h>

#include "pb_cmd.h"

/*
 * A pb_engine bundles what a deploy needs on one thread (Docker client with
 * its own curl handle, Neo4j/http checkers). One per worker thread.
 * pb_engine_new returns 0 with *out == NULL when the config has no engine
 * section: callers then refuse deploys with a clear "no engine" reason.
 */
struct pb_engine;
int pb_engine_new(const pb_config *cfg, struct pb_engine **out, pb_err *err);
void pb_engine_free(struct pb_engine *engine);
/* Pings the engine (and negotiates the API version): 0 reachable, PB_E_UNAVAILABLE with
 * err naming the engine's socket/address otherwise. Lets callers refuse before any state change. */
int pb_engine_check(struct pb_engine *engine, pb_err *err);

/* Result of a deploy or rollback run, filled by the engine side. */
typedef struct pb_deploy_outcome {
	bool rolled_back;      /* an automatic rollback ran */
	bool rollback_ok;      /* …and the previous container answers again */
	char cause[512];       /* why it failed ("" on success) */
} pb_deploy_outcome;

/*
 * Runs deploy steps 2–8 for promotion `p` (state already `deploying`, lock
 * held, preconditions checked by commands/deploy.c). Emits progress cards to
 * ctx->sink (thread audience) and records pb_deployment rows. Returns 0 when
 * the new container is running, healthy and validated; PB_E_FAILED with
 * ctx->err and *out describing the failure (after automatic rollback when the
 * previous container had been moved); PB_E_UNAVAILABLE when the engine could
 * not be reached before anything changed. The caller performs the state
 * transition (observing / failed) and its audit event.
 */
int pb_deploy_execute(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
		      const pb_promotion *p, pb_deploy_outcome *out);

/* Emits the exact plan (image, container, ports, env names without values) — dry run. */
int pb_deploy_plan(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
		   const pb_promotion *p);

/*
 * On-demand rollback of an observing promotion: removes the deployed
 * container, restores and starts the previous one, verifies it. Returns 0
 * when the previous container is back (or there was none and the new one is
 * removed), PB_E_FAILED otherwise. Caller transitions to rolled_back/failed.
 */
int pb_rollback_execute(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
			const pb_promotion *p, pb_deploy_outcome *out);

/*
 * Undoes what a deploy whose process died left on the engine (the previous
 * container renamed or stopped: the new one removed, the previous renamed
 * back, started and validated). 0 when nothing was half done or the previous
 * container is back (out->rolled_back says which); PB_E_FAILED when it could
 * not be restored (out->cause, a card says "act now").
 */
int pb_deploy_restore_interrupted(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
				  const pb_promotion *p, pb_deploy_outcome *out);

/*
 * The leader's sweep: every promotion in `deploying` whose component lease
 * can be taken (its deployer's lease expired: the replica died) is recorded
 * failed as an interrupted deploy, with a card in its thread (system sink).
 * A deploy whose lease is still renewed is left alone. *recovered counts
 * them; <0 only when the promotions could not be listed.
 */
int pb_deploy_recover_expired(const pb_services *svc, size_t *recovered, pb_err *err);

#endif
