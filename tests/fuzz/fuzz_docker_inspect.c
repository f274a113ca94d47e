/* fuzz_docker_inspect.c — the engine's GET /containers/{id}/json document (state, health, podman's overdue check). */
#include <assert.h>

#include "docker_priv.h"
#include "fuzz_util.h"

/* 2026-11-25 09:00:00 UTC, as the command harness's clock. */
#define FZ_NOW_MS 1795597200000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	pb_docker_state st;
	pb_err err;

	if (!j)
		return 0;
	memset(&st, 0, sizeof(st));
	pb_err_init(&err);
	if (dk_state_parse(j, &st, &err) == 0) {
		assert(st.restart_count >= 0 && st.pid >= 0);
		(void)dk_health_overdue(j, &st, FZ_NOW_MS);
	} else {
		assert(err.set);
	}
	cJSON_Delete(j);
	return 0;
}
