/* neo4j.h — Neo4j HTTP API client: discovery and transactional Cypher with parameters. */
#ifndef PB_NEO4J_H
#define PB_NEO4J_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "pb_err.h"

typedef struct pb_neo4j pb_neo4j;

/*
 * base_url "http://127.0.0.1:7474" (no trailing path); database NULL = "neo4j";
 * password may be NULL (no Authorization header). Strings are copied; the
 * password is never put in an error message. timeout_ms per request (0 = 5000).
 */
int pb_neo4j_new(const char *base_url, const char *user, const char *password, const char *database,
		 long timeout_ms, pb_neo4j **out);
void pb_neo4j_free(pb_neo4j *n);

typedef struct pb_neo4j_info {
	char version[64];          /* "5.13.0" */
	char edition[32];          /* "community" */
	char transaction[256];     /* transaction URL template */
} pb_neo4j_info;

/* GET / (no auth). PB_E_UNAVAILABLE when unreachable, PB_E_FAILED on a bad document. */
int pb_neo4j_discover(pb_neo4j *n, pb_neo4j_info *info, pb_err *err);

typedef struct pb_neo4j_result {
	cJSON *root;               /* the whole reply, owned */
	const cJSON *columns;      /* results[0].columns */
	const cJSON *data;         /* results[0].data: [{"row":[…]}] */
	int nodes_created;         /* results[0].stats (includeStats) */
	int nodes_deleted;
	double ms;                 /* round-trip time */
} pb_neo4j_result;

/*
 * POST /db/{db}/tx/commit with one statement; params (borrowed, may be NULL)
 * are sent as "parameters", never spliced into the text; includeStats is set.
 * Returns 0 on success; PB_E_FAILED when "errors" is non-empty (even with
 * HTTP 200; err = "<code>: <message>"); PB_E_REFUSED on 401 (bad credentials);
 * PB_E_UNAVAILABLE when unreachable/timed out. Free res with pb_neo4j_result_deinit.
 */
int pb_neo4j_query(pb_neo4j *n, const char *statement, const cJSON *params, pb_neo4j_result *res,
		   pb_err *err);
void pb_neo4j_result_deinit(pb_neo4j_result *res);
/* Value at row/col of results[0] (NULL when absent). */
const cJSON *pb_neo4j_value(const pb_neo4j_result *res, int row, int col);
/* Number of rows in results[0]. */
int pb_neo4j_rows(const pb_neo4j_result *res);

#endif
