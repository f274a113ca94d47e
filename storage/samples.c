/* samples.c — observation samples, monitor state and daily report claims. */
#include "store_priv.h"

static const char *const check_class_names[PB_CHK_COUNT] = {
	[PB_CHK_OK] = "ok",
	[PB_CHK_NOT_RUNNING] = "container not running",
	[PB_CHK_RESTARTED] = "container restarted",
	[PB_CHK_UNHEALTHY] = "container unhealthy",
	[PB_CHK_TIMEOUT] = "probe timeout",
	[PB_CHK_PROBE_ERROR] = "probe error",
	[PB_CHK_AUTH] = "auth failure",
	[PB_CHK_SKIPPED] = "check skipped",
	[PB_CHK_ENGINE_ERROR] = "engine unreachable",
};

const char *pb_check_class_name(pb_check_class c)
{
	return (unsigned)c < PB_CHK_COUNT ? check_class_names[c] : "?";
}
