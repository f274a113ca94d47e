/* neo4j_priv.h — neo4j.c's readers of server replies, exposed to its tests and fuzz harnesses only. */
#ifndef PB_NEO4J_PRIV_H
#define PB_NEO4J_PRIV_H

#include "neo4j.h"

/* The discovery document (GET /) into info; PB_E_INVALID when version or transaction is missing. */
int neo4j_discovery_read(const char *body, size_t len, pb_neo4j_info *info);

/*
 * A tx/commit reply (HTTP status + body) into res, as pb_neo4j_query returns it: res->root owns
 * the parsed body on success (free with pb_neo4j_result_deinit), NULL on failure. base and url
 * name the server in messages. Stats counts out of [0, INT_MAX] fail the reply (PB_E_FAILED).
 */
int neo4j_reply_read(long status, const char *body, size_t len, const char *base, const char *url,
		     pb_neo4j_result *res, pb_err *err);

#endif
