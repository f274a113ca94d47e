/* TEMPORARY stub until deploy_flow.c lands — never committed. */
#include "pb_deploy.h"
int pb_engine_new(const pb_config *cfg, struct pb_engine **out, pb_err *err) { (void)cfg; (void)err; *out = NULL; return 0; }
void pb_engine_free(struct pb_engine *e) { (void)e; }
int pb_deploy_execute(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d, const pb_promotion *p, pb_deploy_outcome *out) { (void)c; (void)d; (void)p; (void)out; return pb_err_set(&ctx->err, PB_E_FAILED, "stub"); }
int pb_deploy_plan(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d, const pb_promotion *p) { (void)c; (void)d; (void)p; return pb_err_set(&ctx->err, PB_E_FAILED, "stub"); }
int pb_rollback_execute(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d, const pb_promotion *p, pb_deploy_outcome *out) { (void)c; (void)d; (void)p; (void)out; return pb_err_set(&ctx->err, PB_E_FAILED, "stub"); }
