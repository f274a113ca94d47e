/* harness.h — a temp config + SQLite store + capturing sink for driving the dispatcher in tests. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include "pb_cmd.h"
#include "pb_monitor.h"
#include "pb_str.h"

typedef struct th {
	char dir[256];           /* temp folder: db, revision file */
	pb_config *cfg;
	pb_store *store;
	pb_fake_clock clock;     /* the services' clock: starts at TH_EPOCH_MS, moves only when told */
	pb_services svc;         /* what handlers get: the store above, no engine, the fake clock */
	pb_sink sink;
	pb_buf out;              /* rendered text of every card of the last run */
	int ncards;
	int nerrors;             /* cards with is_error */
	int nthread;             /* cards for the promotion thread (audience THREAD) */
	int nopen;               /* PB_THREAD_OPEN cards */
} th;

/* 2026-11-25 09:00:00 UTC: where every harness clock starts. */
#define TH_EPOCH_MS 1795597200000LL

/* `policy` is a JSON object text for the "policy" key, NULL for the default. */
void th_setup(th *h, const char *policy);
/* Same with extra top-level keys (`top`: "\"monitoring\": {…}," or NULL) and neo4j's staging environment JSON. */
void th_setup_ex(th *h, const char *policy, const char *top, const char *staging);
/* A whole config of the test's own: every "@DIR@" in tmpl becomes the harness folder. */
void th_setup_config(th *h, const char *tmpl);
/* Same with extra keys for the neo4j component (`neo4j_extra`: "\"github_repo\": \"o/r\"," or NULL). */
void th_setup_full(th *h, const char *policy, const char *top, const char *staging, const char *neo4j_extra);
void th_teardown(th *h);
/* Runs one command as `user`; returns pb_dispatch's result; h->out holds the replies. */
int th_run(th *h, const char *user, const char *text);
/* Writes the revision the neo4j revision command prints. */
void th_set_revision(th *h, const char *rev);
/* Forces a promotion's state in storage (for states only a deploy engine reaches). */
void th_force_state(th *h, const char *component, pb_state st);
/* Requests `component` to staging as alice and forces its promotion through to `upto` (e.g. observing); returns its id. */
int64_t th_walk_to(th *h, const char *component, pb_state upto);
/* The stored sample of (promotion, slot); the test fails when there is none. */
pb_sample th_sample_at(th *h, int64_t promotion_id, int64_t slot);
/*
 * One pb_monitor_sweep of `mon` on h's services at h's clock; every due check goes to fn, or with fn NULL
 * runs at once on this thread (where the scheduler would hand it to its pool). Asserts the sweep succeeded.
 */
pb_monitor_sweep_stats th_sweep(th *h, pb_monitor *mon, pb_monitor_submit_fn fn);
/* How many observation posts of `kind` (NULL = all) the promotion has. */
size_t th_posts_of(th *h, int64_t promotion_id, const char *kind);
/* Current state of a component's open promotion, or -1 when none. */
int th_state(th *h, const char *component);
const char *th_out(th *h);
/* Writes `len` bytes to a file in the harness folder (neo4j's maturity_file is "<dir>/MATURITY.md"). */
void th_write_file(th *h, const char *name, const char *text, size_t len);
/* The bytes of a file in the harness folder (caller frees), NULL when it does not exist. */
char *th_read_file(th *h, const char *name, size_t *len);
/* Epoch seconds of the harness clock (what storage rows get). */
int64_t th_now(th *h);

/* A component's tcp probe target: a listening loopback socket a test opens and closes. */
typedef struct th_target {
	int fd;                  /* -1 while down */
	int port;                /* 0 before the first up: any free port, kept across down/up */
} th_target;
/* Listens on t->port (a free one when 0, then stored). */
void th_target_up(th_target *t);
/* Accepts and closes what probes connected, so the backlog never fills (a full one looks like a timeout). */
void th_target_drain(th_target *t);
/* Stops listening (probes get "connection refused"); nothing when already down. */
void th_target_down(th_target *t);

#endif
