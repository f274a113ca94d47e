/* pb_services.h — the clients a handler may use (store, deploy engine, clock), opened once per worker. */
#ifndef PB_SERVICES_H
#define PB_SERVICES_H

#include <stdint.h>

#include "pb_clock.h"
#include "pb_card.h"
#include "pb_config.h"
#include "pb_err.h"
#include "pb_metrics.h"
#include "pb_store.h"

struct pb_engine; /* deploy engine (Docker), opaque; NULL when none is configured */
struct pb_github; /* GitHub client (integrations/github.h), opaque; NULL when no github section */

/*
 * Everything outside the process a command may touch, in one place: adding
 * a client (GitHub next) means one field here and one line in
 * pb_services_open, not a new parameter threaded through every adapter.
 * A worker thread opens its own (SQLite connections and curl handles are
 * not shared between threads) and hands it to handlers as const.
 */
typedef struct pb_services {
	const pb_config *cfg;
	pb_store *store;
	struct pb_engine *engine;   /* NULL when the config has none */
	struct pb_github *github;   /* NULL when the config has no github section (or PB_SVC_NO_GITHUB) */
	const pb_clock *clock;      /* never NULL once opened */
	const char *lock_owner;     /* unique token for component locks (points into owner_buf or the caller's) */
	/*
	 * Where work that no chat message started (timers, background jobs)
	 * posts its cards: the adapter sets it — the console prints them, Slack
	 * posts thread cards in the promotion's stored thread and everything
	 * else to the channel. Thread-safe; NULL until the adapter sets it.
	 */
	pb_sink *system_sink;
	const pb_metrics_promobot *metrics; /* NULL: nothing is counted (exec, tests) */
	char owner_buf[192];
} pb_services;

enum {
	PB_SVC_ENGINE_OPTIONAL = 1u << 0, /* a deploy engine that cannot be set up is logged, not fatal */
	PB_SVC_NO_ENGINE = 1u << 1,       /* this worker never deploys (the Slack poster) */
	PB_SVC_NO_GITHUB = 1u << 2,       /* this worker never talks to GitHub (the Slack poster) */
};

/*
 * Opens (and migrates) the store the config names: storage.url / storage.path, with the
 * PostgreSQL password read from storage.password_env / password_file when set (never logged),
 * and its leases lasting ha.lease_s.
 */
int pb_services_store_open(const pb_config *cfg, pb_store **out, pb_err *err);

/*
 * Opens the store the config names (pb_services_store_open), the deploy engine and the GitHub client. `clock` NULL
 * means the system clock; `owner` names this worker in its lease owner token (pb_lease_token).
 * On failure nothing stays open and err says why.
 */
int pb_services_open(pb_services *svc, const pb_config *cfg, const pb_clock *clock, const char *owner,
		     unsigned flags, pb_err *err);
/* Closes what pb_services_open opened; safe on a zeroed struct. */
void pb_services_close(pb_services *svc);

/* Counts into `m` from now on: commands by dispatch, storage transactions by the store. */
void pb_services_set_metrics(pb_services *svc, const pb_metrics_promobot *m);

/* Epoch seconds of the services' clock: the timestamp storage rows get. */
int64_t pb_services_now(const pb_services *svc);

#endif
