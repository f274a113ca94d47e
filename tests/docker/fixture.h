/* fixture.h — shared setup for the docker suites: engine check, test image, ports, cleanup. */
#ifndef PB_TEST_DOCKER_FIXTURE_H
#define PB_TEST_DOCKER_FIXTURE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "docker.h"
#include "pb_str.h"

/*
 * Runs the Criterion tests of this executable after checking the engine:
 * PROMOBOT_SKIP_DOCKER=1 → prints that the suite is disabled, exits 77 (meson: SKIP);
 * no DOCKER_HOST or no answer → prints how to provide an engine, exits 1 (FAIL).
 * Imports the test image (busybox + neo4j_fake) once, exports it to the tests
 * through the environment, and removes every container/image named for this run after.
 */
int fx_main(int argc, char **argv, const char *suite);

/* The imported test image ("promobot-test/neo4jfake:<run>") and this run's name prefix. */
const char *fx_image(void);
const char *fx_prefix(void);
/* The local registry ("127.0.0.1:port") or NULL when not provided. */
const char *fx_registry(void);
/* A new client for the engine under test (asserts on failure). */
pb_docker *fx_docker(void);
/* A free TCP port on 127.0.0.1 (checked by binding it). */
int fx_free_port(void);
/* Builds the rootfs tarball (busybox + applet links + the neo4j fake) into out. */
int fx_rootfs_tar(pb_buf *out);
/* Waits (bounded) until something accepts on 127.0.0.1:port; true when it does. */
bool fx_wait_port(int port, int timeout_ms);
/* True when nothing accepts on 127.0.0.1:port right now. */
bool fx_port_closed(int port);

/* A config's "users": alice (requester), bob (approver), carol (deployer; admin too when carol_admin). */
cJSON *fx_users(bool carol_admin);
/* A JSON array of the NULL-terminated strings. */
cJSON *fx_str_array(const char *const *items);
/*
 * A config's environments.staging for a component deployed as the neo4j fake of fx_image() in a
 * host-network container `container_name` listening on `port`: healthcheck, neo4j validation, and
 * NEO4J_AUTH / the password read from $PB_TEST_NEO4J_AUTH / $PB_TEST_NEO4J_PW (the test sets them).
 */
cJSON *fx_neo4j_staging(const char *container_name, int port);

#endif
