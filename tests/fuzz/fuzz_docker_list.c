/* fuzz_docker_list.c — the engine's GET /containers/json reply (names, ports, HostConfig). */
#include <assert.h>

#include "docker_priv.h"
#include "fuzz_util.h"

static void no_hc(void *ud, pb_docker_container *c)
{
	(*(size_t *)ud)++;
	assert(c->network_mode[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_docker_container *list = NULL;
	size_t n = 0, nohc = 0;
	pb_err err;
	int r;

	pb_err_init(&err);
	r = dk_containers_parse((const char *)data, size, &list, &n, no_hc, &nohc, &err);
	if (r == 0) {
		assert(nohc <= n);
		for (size_t i = 0; i < n; i++) {
			assert(list[i].nports <= sizeof(list[i].ports) / sizeof(list[i].ports[0]));
			for (size_t k = 0; k < list[i].nports; k++) {
				assert(list[i].ports[k].private_port >= 0 && list[i].ports[k].private_port <= 65535);
				assert(list[i].ports[k].public_port >= 0 && list[i].ports[k].public_port <= 65535);
			}
		}
	} else {
		assert(list == NULL && err.set);
	}
	free(list);
	return 0;
}
