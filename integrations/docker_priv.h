/* docker_priv.h — docker.c's readers of engine replies, exposed to its tests and fuzz harnesses only. */
#ifndef PB_DOCKER_PRIV_H
#define PB_DOCKER_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "docker.h"

/*
 * Every byte below comes from the engine (or whatever answers on its socket):
 * numbers go through the bounded readers of pb_json.h and a value out of range
 * fails the whole reply with a message naming the field, never a blind cast.
 */

/* Called for a listed container without HostConfig (podman 4.x) so the caller can look its mode up. */
typedef void (*dk_no_hostconfig_fn)(void *ud, pb_docker_container *c);

/*
 * The body of GET /containers/json into a malloc'd array (*out, *count; caller frees).
 * PB_E_INVALID with err ("container 2: Ports[0].PrivatePort: … is not an integer in
 * [1, 65535]") for a reply that is not an array or carries a bad number.
 */
int dk_containers_parse(const char *json, size_t len, pb_docker_container **out, size_t *count,
			dk_no_hostconfig_fn no_hc, void *ud, pb_err *err);

/* GET /containers/{id}/json's document into st. PB_E_INVALID with err for a bad number. */
int dk_state_parse(const cJSON *j, pb_docker_state *st, pb_err *err);

/* True when a running container's healthcheck is overdue at now_ms (see docker.c). */
bool dk_health_overdue(const cJSON *j, const pb_docker_state *st, int64_t now_ms);

/* The API-Version header ("1.43") as 1043; -1 when malformed or a part is outside 0..999. */
long dk_api_num(const char *v);

/* NDJSON progress stream of pull/push/import. */
#define DK_MAX_LAYERS 64

typedef struct dk_stream {
	pb_buf line;
	pb_buf raw;                /* first bytes, for non-2xx error bodies */
	char error[400];
	pb_docker_pull_stats *stats;
	char layer_ids[DK_MAX_LAYERS][24];
	bool layer_done[DK_MAX_LAYERS];
	int nlayers;
	int layers_present;        /* "Already exists" */
	pb_docker_progress_fn progress;
	void *ud;
	int oom;
} dk_stream;

/* s zeroed by the caller (stats/progress set as wanted), then init, data…, finish, deinit. */
void dk_stream_init(dk_stream *s);
/* The HTTP body callback: splits lines, scans each. Non-zero stops the transfer (line too long / OOM). */
int dk_stream_data(void *ud, const char *data, size_t len);
/* Scans a last unterminated line. */
void dk_stream_finish(dk_stream *s);
void dk_stream_deinit(dk_stream *s);

#endif
