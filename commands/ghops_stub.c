/* ghops_stub.c — stand-ins for pb_ghops.h: replaced at merge by branch ghcomplete. */
#include "pb_ghops.h"

/* Replaced at merge by branch ghcomplete (the MATURITY.md commit and the Project item). */

int pb_ghops_maturity(pb_github *g, const pb_config *cfg, const pb_ghops_completion *c, char *summary,
		      size_t size, pb_err *err)
{
	(void)g, (void)cfg, (void)c, (void)summary, (void)size;
	return pb_err_set(err, PB_E_INVALID, "MATURITY.md through GitHub: not in this build");
}

int pb_ghops_project(pb_github *g, const pb_config *cfg, const pb_ghops_completion *c, char *summary,
		     size_t size, pb_err *err)
{
	(void)g, (void)cfg, (void)c, (void)summary, (void)size;
	return pb_err_set(err, PB_E_INVALID, "Project (v2) item: not in this build");
}
