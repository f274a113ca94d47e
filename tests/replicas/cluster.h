/* cluster.h — the replicas harness: two real `promobot run` processes behind the fake Slack, one shared store. */
#ifndef PB_TEST_REPLICAS_CLUSTER_H
#define PB_TEST_REPLICAS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fake_slack.h"

#define APP_TOKEN "xapp-1-A0FAKE-1234567890-replicas-app-token"
#define BOT_TOKEN "xoxb-1111-2222-replicas-bot-token-value"
#define CHANNEL "C0PROMO"
#define WAIT_MS 30000
#define NREP 2

typedef struct replica {
	pid_t pid;
	char log[320];
	int serial;             /* its Socket Mode connection at the fake */
} replica;

typedef struct cluster {
	fake_slack *fake;
	char dir[256];
	char cfg[320];
	char db[600];           /* the SQLite file, or on PostgreSQL the store URI of the test's schema */
	replica r[NREP];
} cluster;

/* Extra keys of neo4j's entry (" \"github_repo\": …,") for the next cluster (each test runs in its own process). */
extern const char *component_extra;

#define STAGING_IMAGE "{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\"}"

/*
 * Both replicas read this one file: same store, same Slack app, same components.
 * extra: top-level keys ("\"monitoring\": {…},\n"); staging: neo4j's staging environment.
 */
void write_config(cluster *c, const char *extra, const char *staging);

/* Replica i runs `promobot --config <cfg>`; its output goes to its own log. */
void replica_spawn(cluster *c, int i);

/* The fake, the config, and both replicas up, each with its own Socket Mode connection. */
void cluster_start(cluster *c, const char *extra, const char *staging);

/* SIGTERM; 0 = a clean stop (no leak under ASan). */
int replica_stop(cluster *c, int i);

/* Both replicas stopped (each must stop cleanly, its log free of the tokens), the fake freed, the files removed. */
void cluster_finish(cluster *c);

/* One integer from the shared store (a read-only look while the replicas run); -1 if none. */
int64_t db_int(const cluster *c, const char *sql);

/* Polls db_int(sql) until it equals want (true) or timeout_ms pass (false). */
bool db_wait(const cluster *c, const char *sql, int64_t want, int timeout_ms);

/* Sends a slash command where the distribution says; the serial it went to (its ack must come back on it). */
int slash(cluster *c, const char *env_id, const char *user, const char *text);

/* The same on one replica's connection. */
void slash_on(cluster *c, int i, const char *env_id, const char *user, const char *text);

/* The parent message of the promotion's thread: the only ok chat.postMessage without thread_ts. */
size_t parents(cluster *c, char *ts, size_t size);
/* The same for the k-th such parent (0 = the first): one per promotion, in the order they were opened. */
size_t parent_nth(cluster *c, size_t k, char *ts, size_t size);

/* A write to the shared store from outside (as an operator with the database shell would). */
void db_exec(const cluster *c, const char *sql);

/* Whether replica i's log holds needle. */
bool log_has(const cluster *c, int i, const char *needle);

/* The replica whose log says it took the scheduler lease (`needle`), waiting up to timeout_ms; -1 if none. */
int wait_leader(const cluster *c, const char *needle, int timeout_ms);

/* request (replica 0) → validate (1) → approve (0) → deploy (1): observing; ts gets the thread's parent. */
void walk_to_observing(cluster *c, char *ts, size_t size);

/* SIGKILL: the replica dies without a word (its Socket Mode connection drops with it). */
void replica_kill(cluster *c, int i);

#endif
