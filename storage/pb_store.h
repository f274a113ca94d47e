/* pb_store.h — persistence (SQLite or PostgreSQL): schema, migrations and one function group per aggregate. */
#ifndef PB_STORE_H
#define PB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_err.h"

/*
 * A pb_store is one SQLite connection (WAL, foreign_keys=ON, busy_timeout).
 * It is NOT shared between threads: every worker opens its own. All writes
 * that must be atomic are wrapped by the caller in pb_store_begin/commit.
 *
 * Return codes: 0 ok, <0 -errno style fatal (SQLite failure, with err set),
 * PB_E_NOTFOUND, PB_E_CONFLICT, PB_E_BUSY as documented per function.
 * Lookups that find nothing return PB_E_NOTFOUND WITHOUT text: whether that is
 * an error, and how to word it, is the caller's business (STYLE §3); err then
 * keeps any earlier message intact.
 *
 * Time: storage never reads a clock. Every write takes its timestamp (epoch
 * seconds) from the caller — an explicit `now` or the struct's *_at field,
 * which must be set (-EINVAL otherwise) — so a test clock drives every row.
 */
typedef struct pb_store pb_store;

#define PB_STORE_SCHEMA_VERSION 12 /* keep in sync with storage/migrations.c */

/*
 * Opens and migrates to the latest schema. `target` is a SQLite file path
 * (created if missing), "sqlite:///path", or a libpq URI "postgres://…" /
 * "postgresql://…". `password` (NULL when none) goes to the backend and never
 * into a message.
 */
int pb_store_open_with(const char *target, const char *password, pb_store **out, pb_err *err);
/*
 * Connects to the target and reads its schema version without creating,
 * migrating or changing anything (--check-config --online). A SQLite file
 * that does not exist yet is PB_E_NOTFOUND (it would be created on start).
 */
int pb_store_probe(const char *target, const char *password, int *version, pb_err *err);
/* pb_store_open_with without a password. */
int pb_store_open(const char *target, pb_store **out, pb_err *err);
/* "sqlite" or "postgres". */
const char *pb_store_backend(const pb_store *st);
/* True while a transaction is open on this connection. */
bool pb_store_in_tx(pb_store *st);
void pb_store_close(pb_store *st);
/* Current PRAGMA user_version (after open: PB_STORE_SCHEMA_VERSION). */
int pb_store_schema_version(pb_store *st);
/* Test helper: creates a fresh database at exactly `version` (0..latest) without
 * migrating further, so migration tests can open it later. */
int pb_store_create_at_version(const char *path, int version, pb_err *err);

/* Transactions: BEGIN IMMEDIATE so writers serialise up front (no upgrade deadlocks). */
int pb_store_begin(pb_store *st, pb_err *err);
int pb_store_commit(pb_store *st, pb_err *err);
/*
 * A run of reads on one snapshot (read-only commands: status, blockers,
 * history). On SQLite each statement outside a transaction takes and drops
 * the WAL read lock itself (3-5 fcntl calls each time another connection has
 * written); one read transaction takes it once. On PostgreSQL it costs two
 * round trips and is not opened. *opened says whether pb_store_read_end has
 * a transaction to end; inside an open transaction nothing is opened.
 */
int pb_store_read_begin(pb_store *st, bool *opened, pb_err *err);
void pb_store_read_end(pb_store *st, bool opened);
/* Optional: fn is told each committed transaction's begin→commit time (metrics). Same thread as the store. */
void pb_store_set_tx_observer(pb_store *st, void (*fn)(void *ud, double seconds), void *ud);
void pb_store_rollback(pb_store *st);

/* ---- promotion states (stored as text) ---- */
typedef enum {
	PB_ST_REQUESTED = 0,
	PB_ST_VALIDATING,
	PB_ST_IN_REVIEW,
	PB_ST_BLOCKED,
	PB_ST_APPROVED,
	PB_ST_DEPLOYING,
	PB_ST_OBSERVING,
	PB_ST_COMPLETED,
	PB_ST_FAILED,
	PB_ST_ROLLED_BACK,
	PB_ST_CANCELLED,
	PB_ST_COUNT
} pb_state;

const char *pb_state_name(pb_state s);
int pb_state_parse(const char *s, pb_state *out);
/* Open = not completed/failed/rolled_back/cancelled. */
bool pb_state_is_open(pb_state s);

/* ---- components ---- */
/* Inserts the component with `initial_stage` if absent; existing rows keep their stage. */
int pb_store_component_ensure(pb_store *st, const char *id, int initial_stage, int64_t now, pb_err *err);
/* PB_E_NOTFOUND when the component was never ensured. */
int pb_store_component_stage(pb_store *st, const char *id, int *stage, pb_err *err);
int pb_store_component_set_stage(pb_store *st, const char *id, int stage, int64_t now, pb_err *err);

/* ---- promotions ---- */
#define PB_ID_MAX 128
#define PB_TEXT_MAX 1024

typedef struct pb_promotion {
	int64_t id;
	char component[PB_ID_MAX];
	int from_stage;
	int target_stage;
	pb_state state;
	char requester[PB_ID_MAX];
	char justification[PB_TEXT_MAX];
	char revision[PB_ID_MAX];       /* validated revision, "" until validated */
	char thread_ref[PB_ID_MAX];     /* chat thread (Slack ts), "" until posted */
	char channel_ref[PB_ID_MAX];    /* chat channel of the thread */
	int64_t issue_number;           /* GitHub issue, 0 when none */
	int64_t created_at;
	int64_t updated_at;
	int64_t observing_since;        /* 0 until deployed */
} pb_promotion;

/*
 * Inserts a promotion in state `requested`. PB_E_CONFLICT when an open
 * promotion already exists for (component, target) — enforced by a unique
 * partial index so two processes cannot both win. Sets p->id.
 */
int pb_store_promotion_insert(pb_store *st, pb_promotion *p, pb_err *err);
int pb_store_promotion_get(pb_store *st, int64_t id, pb_promotion *out, pb_err *err);
/* The open promotion of a component (any target), PB_E_NOTFOUND if none. */
int pb_store_promotion_open_for(pb_store *st, const char *component, pb_promotion *out, pb_err *err);
/* The most recent promotion of a component whatever its state, PB_E_NOTFOUND if none. */
int pb_store_promotion_latest(pb_store *st, const char *component, pb_promotion *out, pb_err *err);
/* The most recent promotion of a component to `target_stage` in `state`, PB_E_NOTFOUND (no text) if none. */
int pb_store_promotion_latest_in(pb_store *st, const char *component, int target_stage, pb_state state,
				 pb_promotion *out, pb_err *err);
/* Finds the promotion whose thread is (channel, thread_ref); PB_E_NOTFOUND otherwise. */
int pb_store_promotion_by_thread(pb_store *st, const char *channel, const char *thread_ref,
				 pb_promotion *out, pb_err *err);
/*
 * Compare-and-swap of the state: succeeds only if the row is still in
 * `expected`; PB_E_CONFLICT otherwise (someone else moved it). Also sets
 * updated_at, and observing_since when `next` is observing.
 */
int pb_store_promotion_set_state(pb_store *st, int64_t id, pb_state expected, pb_state next, int64_t now,
				 pb_err *err);
int pb_store_promotion_set_revision(pb_store *st, int64_t id, const char *revision, int64_t now, pb_err *err);
/*
 * The right to post a promotion's thread parent, between replicas sharing the
 * store: the replica whose request creates the promotion claims it in the
 * same transaction, so a card another replica emits before the parent's ts is
 * stored waits for that thread instead of opening a second one.
 * PB_THREAD_CLAIM_S bounds the wait when the claimer dies first.
 */
#define PB_THREAD_CLAIM_S 30
/*
 * Claims (or renews) it for `owner` until `until` (seconds, like `now`): 0
 * claimed; PB_E_CONFLICT the thread is stored already; PB_E_BUSY another
 * owner's claim runs until *held_until (may be NULL); PB_E_NOTFOUND. Only
 * PB_E_NOTFOUND and failures set text. set_thread ends the claim.
 */
int pb_store_promotion_claim_thread(pb_store *st, int64_t id, const char *owner, int64_t now, int64_t until,
				    int64_t *held_until, pb_err *err);
int pb_store_promotion_set_thread(pb_store *st, int64_t id, const char *channel, const char *thread_ref,
				  int64_t now, pb_err *err);
int pb_store_promotion_set_issue(pb_store *st, int64_t id, int64_t issue_number, int64_t now, pb_err *err);
/* Every promotion in one of the given states, oldest first (caller frees *out). */
int pb_store_promotions_in_state(pb_store *st, const pb_state *states, size_t nstates,
				 pb_promotion **out, size_t *count, pb_err *err);

/* ---- audit events (append-only) ---- */
typedef struct pb_event {
	int64_t id;
	int64_t promotion_id;           /* 0 when not about a promotion */
	char component[PB_ID_MAX];
	char actor[PB_ID_MAX];
	char kind[64];                  /* "requested", "state", "approved", "blocker.opened", … */
	char from_state[32];            /* "" unless a transition */
	char to_state[32];
	char detail[PB_TEXT_MAX];
	int64_t at;
} pb_event;

int pb_store_event_append(pb_store *st, const pb_event *ev, pb_err *err);
/* Events of a component, oldest first; `limit` 0 = all. Caller frees *out. */
int pb_store_events_for_component(pb_store *st, const char *component, size_t limit,
				  pb_event **out, size_t *count, pb_err *err);
int pb_store_events_for_promotion(pb_store *st, int64_t promotion_id,
				  pb_event **out, size_t *count, pb_err *err);

/* ---- approvals ---- */
typedef struct pb_approval {
	int64_t promotion_id;
	char approver[PB_ID_MAX];
	char revision[PB_ID_MAX];
	char comment[PB_TEXT_MAX];
	int64_t at;
} pb_approval;

/* PB_E_CONFLICT when this approver already approved this revision (a no-op). */
int pb_store_approval_add(pb_store *st, const pb_approval *a, pb_err *err);
/* Approvals for the promotion's given revision, oldest first (ties by approver). Caller frees *out. */
int pb_store_approvals_list(pb_store *st, int64_t promotion_id, const char *revision,
			    pb_approval **out, size_t *count, pb_err *err);
/* Deletes approvals bound to any other revision than the promotion's stored one (re-validation). */
int pb_store_approvals_reset(pb_store *st, int64_t promotion_id, pb_err *err);

/* ---- blockers ---- */
typedef enum { PB_SEV_LOW = 0, PB_SEV_MEDIUM, PB_SEV_HIGH, PB_SEV_CRITICAL, PB_SEV_COUNT } pb_severity;
const char *pb_severity_name(pb_severity s);   /* "low" … "critical" */
int pb_severity_parse(const char *s, pb_severity *out);

typedef struct pb_blocker {
	int64_t id;
	char component[PB_ID_MAX];
	pb_severity severity;
	char text[PB_TEXT_MAX];
	char opened_by[PB_ID_MAX];
	char resolved_by[PB_ID_MAX];    /* "" while open */
	int64_t opened_at;
	int64_t resolved_at;            /* 0 while open */
	int64_t issue_number;
} pb_blocker;

int pb_store_blocker_add(pb_store *st, pb_blocker *b, pb_err *err);   /* sets b->id */
int pb_store_blocker_get(pb_store *st, int64_t id, pb_blocker *out, pb_err *err);
/* PB_E_CONFLICT when already resolved. */
int pb_store_blocker_resolve(pb_store *st, int64_t id, const char *actor, int64_t now, pb_err *err);
/* Open blockers of a component, most severe first. Caller frees *out. */
int pb_store_blockers_open(pb_store *st, const char *component, pb_blocker **out,
			   size_t *count, pb_err *err);
/* Blockers of a component opened in [from, to), oldest first (open or resolved). Caller frees *out. */
int pb_store_blockers_opened_between(pb_store *st, const char *component, int64_t from, int64_t to,
				     pb_blocker **out, size_t *count, pb_err *err);
/* Count of open critical blockers (0 when none). */
int pb_store_blockers_critical(pb_store *st, const char *component, int *count, pb_err *err);
/* The component's blocker linked to GitHub issue `number` (open or resolved, newest); PB_E_NOTFOUND (no text). */
int pb_store_blocker_by_issue(pb_store *st, const char *component, int64_t number, pb_blocker *out,
			      pb_err *err);

/* ---- GitHub drift: what a promotion's issue contradicts (storage/gh_drift.c) ---- */
typedef struct pb_gh_drift {
	int64_t promotion_id;
	int64_t issue_number;
	char text[PB_TEXT_MAX];         /* "issue #12 was closed by hand; promotion is in review" */
	char state[32];                 /* the promotion state it was seen against */
	int64_t updated_at;             /* the promotion's updated_at then */
	bool confirmed;                 /* seen twice in a row against the same state: shown */
	int64_t first_seen_at;
	int64_t checked_at;
} pb_gh_drift;

/* PB_E_NOTFOUND (no text) when the promotion's issue matched at the last check. */
int pb_store_gh_drift_get(pb_store *st, int64_t promotion_id, pb_gh_drift *out, pb_err *err);
/* Inserts or replaces the row of d->promotion_id (first_seen_at and checked_at must be set). */
int pb_store_gh_drift_put(pb_store *st, const pb_gh_drift *d, pb_err *err);
/* Forgets it (the issue matches again); 0 also when there was none. */
int pb_store_gh_drift_clear(pb_store *st, int64_t promotion_id, pb_err *err);

/* ---- validations ---- */
typedef struct pb_validation {
	int64_t id;
	int64_t promotion_id;
	char revision[PB_ID_MAX];
	bool passed;
	double coverage;                /* -1 when unknown */
	char *result_json;              /* owned; per-check results as JSON text */
	int64_t started_at;
	int64_t finished_at;
} pb_validation;

int pb_store_validation_add(pb_store *st, pb_validation *v, pb_err *err); /* sets v->id */
/* Latest validation of a promotion; PB_E_NOTFOUND if none. Free with pb_validation_deinit. */
int pb_store_validation_latest(pb_store *st, int64_t promotion_id, pb_validation *out, pb_err *err);
void pb_validation_deinit(pb_validation *v);
/* Every validation of a promotion, oldest first. Free with pb_validations_free. */
int pb_store_validations_of(pb_store *st, int64_t promotion_id, pb_validation **out, size_t *count, pb_err *err);
void pb_validations_free(pb_validation *list, size_t count);

/* ---- deployments (issue: Docker deploy) ---- */
typedef struct pb_deployment {
	int64_t id;
	int64_t promotion_id;
	char component[PB_ID_MAX];
	char environment[32];
	char container_id[PB_ID_MAX];
	char container_name[PB_ID_MAX];
	char image[256];
	char image_id[PB_ID_MAX];
	char previous_container[PB_ID_MAX];  /* renamed previous container kept for rollback, "" if none */
	char ports[256];                     /* "127.0.0.1:7476->7474/tcp, …" */
	char status[32];                     /* "running", "succeeded", "failed", "rolled_back" */
	char detail[PB_TEXT_MAX];
	int64_t started_at;
	int64_t finished_at;
} pb_deployment;

int pb_store_deployment_add(pb_store *st, pb_deployment *d, pb_err *err);   /* sets d->id */
int pb_store_deployment_update(pb_store *st, const pb_deployment *d, pb_err *err);
int pb_store_deployment_latest(pb_store *st, int64_t promotion_id, pb_deployment *out, pb_err *err);
/* Every deployment of a promotion, oldest first. Caller frees *out. */
int pb_store_deployments_of(pb_store *st, int64_t promotion_id, pb_deployment **out, size_t *count, pb_err *err);

/* ---- liveness: the health probe's write ---- */
/* Records that `owner` wrote at `now` (one row per owner, replaced): a real write, in its own transaction. */
int pb_store_heartbeat(pb_store *st, const char *owner, int64_t now, pb_err *err);

/* ---- idempotency: processed chat event / envelope ids ---- */
/* Records `key`; returns 0 when new, PB_E_CONFLICT when it was seen before. */
int pb_store_event_id_claim(pb_store *st, const char *key, int64_t now, pb_err *err);
/* Forgets ids older than `before` (epoch s). */
int pb_store_event_ids_prune(pb_store *st, int64_t before, pb_err *err);

/* ---- leases: per-component mutation locks and the scheduler leader (storage/locks.c) ---- */
/*
 * A lease is a row (name, owner token, expiry on the caller's clock): held
 * by one owner until it is released or expires_at passes, whatever host or
 * process took it — it works across replicas on one shared database, where
 * a PID check only means something on one host. Owner tokens must be unique
 * per replica and command (host:pid:boot-nonce:worker, see pb_lease_token).
 * A lease is free once now > expires_at; whoever takes an expired one over
 * logs a warning naming the previous owner.
 */
#define PB_LEASE_DEFAULT_S 30

typedef struct pb_lease {
	char name[PB_ID_MAX];
	char owner[PB_ID_MAX];
	char purpose[PB_TEXT_MAX];
	int64_t acquired_at;
	int64_t renewed_at;
	int64_t expires_at;
	char host[256];
	int64_t pid;
} pb_lease;

/*
 * Takes (or, for the same owner, extends) the lease `name` until now + ttl_s.
 * 0 when held; PB_E_BUSY with err naming the holder when another owner's
 * lease has not expired. `prev` (optional) receives the row found before
 * (owner "" when there was none): a caller tells a takeover from a renewal.
 * Joins the caller's transaction when one is open.
 */
int pb_store_lease_acquire(pb_store *st, const char *name, const char *owner, const char *purpose, int64_t now,
			   int ttl_s, pb_lease *prev, pb_err *err);
/* Extends the owner's unexpired lease to now + ttl_s; PB_E_BUSY with text when it was lost (expired or taken). */
int pb_store_lease_renew(pb_store *st, const char *name, const char *owner, int64_t now, int ttl_s, pb_err *err);
/* Deletes the lease only when `owner` holds it: a late release after a takeover is harmless. */
void pb_store_lease_release(pb_store *st, const char *name, const char *owner);
/* The lease row; PB_E_NOTFOUND (no text) when nobody ever took it or it was released. */
int pb_store_lease_get(pb_store *st, const char *name, pb_lease *out, pb_err *err);
/* Fills out (size >= 96) with "host:pid:nonce:worker", the nonce random per process start. */
void pb_lease_token(const char *worker, char *out, size_t size);

/* The ttl of component leases (config ha.lease_s); PB_LEASE_DEFAULT_S until set. */
void pb_store_set_lease_s(pb_store *st, int ttl_s);
/*
 * The component's mutation lock: the lease `component:<id>` for the store's
 * lease_s. PB_E_BUSY with err naming the holder when someone else has it;
 * an expired lease is taken over with a warning.
 */
int pb_store_lock_acquire(pb_store *st, const char *component, const char *owner,
			  const char *purpose, int64_t now, pb_err *err);
/* Extends the component lease; PB_E_BUSY with text when it was lost (a long deploy stops on that). */
int pb_store_lock_renew(pb_store *st, const char *component, const char *owner, int64_t now, pb_err *err);
void pb_store_lock_release(pb_store *st, const char *component, const char *owner);

/* ---- observation: samples, monitor state, daily reports (storage/samples.c) ---- */
/*
 * One health check of an observing promotion at its scheduled slot. A slot
 * is observing_since + k * interval_s; a slot with no row (the bot was down)
 * or a row in state UNKNOWN (the check was skipped) counts as UNKNOWN, never
 * UP. Stored compactly (WITHOUT ROWID, primary key (promotion_id, slot)).
 */
typedef enum { PB_SAMPLE_UNKNOWN = 0, PB_SAMPLE_UP = 1, PB_SAMPLE_DOWN = 2 } pb_sample_state;

typedef enum {
	PB_CHK_OK = 0,
	PB_CHK_NOT_RUNNING,     /* container absent, exited, dead, paused */
	PB_CHK_RESTARTED,       /* RestartCount / StartedAt moved since the last check */
	PB_CHK_UNHEALTHY,       /* the engine's healthcheck says unhealthy */
	PB_CHK_TIMEOUT,         /* the probe did not answer within the deadline */
	PB_CHK_PROBE_ERROR,     /* the probe answered wrongly or the connection failed */
	PB_CHK_AUTH,            /* the probe's credentials were refused */
	PB_CHK_SKIPPED,         /* the previous check was still running (state UNKNOWN) */
	PB_CHK_ENGINE_ERROR,    /* the engine could not be asked (state UNKNOWN) */
	PB_CHK_NOT_RUN,         /* nobody ran it: no leader at the time, bot down, pool full (state UNKNOWN) */
	PB_CHK_COUNT
} pb_check_class;
const char *pb_check_class_name(pb_check_class c);   /* "ok", "not running", "restarted", … */

#define PB_SAMPLE_F_OOM     0x01u  /* OOMKilled seen (inspect or an oom event) since the last sample */
#define PB_SAMPLE_F_RESTART 0x02u  /* a restart / die event or RestartCount change since the last sample */
#define PB_SAMPLE_F_STATS   0x04u  /* cpu_dpct and mem_kb were measured in this check */
#define PB_SAMPLE_F_UNHEALTHY 0x08u /* the engine reported the container unhealthy since the last sample (an event) */

typedef struct pb_sample {
	int64_t promotion_id;
	int64_t slot;           /* scheduled time, epoch s */
	int32_t latency_us;     /* probe round trip; -1 when the probe did not answer */
	int32_t cpu_dpct;       /* CPU in tenths of a percent as `docker stats` (may exceed 1000) ; -1 none */
	int32_t mem_kb;         /* memory in KiB (usage minus inactive file); -1 none */
	uint16_t log_critical;  /* log entries at a critical level since the last sample */
	uint16_t log_warning;
	uint8_t state;          /* pb_sample_state */
	uint8_t cls;            /* pb_check_class */
	uint8_t flags;          /* PB_SAMPLE_F_* */
	uint8_t restarts;       /* restarts seen since the last sample (events, RestartCount, StartedAt); capped at 255 */
	uint8_t ooms;           /* OOM kills seen since the last sample (oom events, OOMKilled); capped at 255 */
} pb_sample;

/* Restarts / OOM kills a sample saw: its count, or 1 for a bare flag (rows written before the counts). */
static inline unsigned pb_sample_restarts(const pb_sample *s)
{
	return s->restarts ? s->restarts : (s->flags & PB_SAMPLE_F_RESTART) != 0;
}

static inline unsigned pb_sample_ooms(const pb_sample *s)
{
	return s->ooms ? s->ooms : (s->flags & PB_SAMPLE_F_OOM) != 0;
}

/*
 * What the scheduler remembers about one observed promotion between checks,
 * written in the same transaction as the sample that changed it, so a crash
 * never leaves an alert decided twice or not at all.
 */
typedef struct pb_monitor_state {
	int64_t promotion_id;
	uint8_t health;          /* alerted health (pb_sample_state): UNKNOWN until the first verdict of the thresholds */
	int fails;               /* consecutive DOWN samples */
	int oks;                 /* consecutive UP samples */
	int64_t down_since;      /* slot of the first DOWN of the current outage; 0 = none */
	uint8_t down_cls;        /* its pb_check_class */
	int64_t last_remind;     /* slot of the last reminder (or the DOWN alert) */
	int64_t last_slot;       /* newest recorded slot; 0 = none yet */
	int64_t checks;          /* samples recorded */
	int restart_count;       /* engine's RestartCount at the last check; -1 unknown */
	char started_at[64];     /* engine's StartedAt at the last check */
	int64_t log_since;       /* container logs were read up to this epoch s */
	int64_t events_ns;       /* engine events were read up to this epoch ns (the engine's clock); 0 = not yet */
	int64_t last_at;         /* wall epoch s of the last check */
	int32_t last_latency_us; /* of the last check; -1 none */
	uint8_t last_state;      /* pb_sample_state of the last check */
	uint8_t last_cls;
} pb_monitor_state;

/* The promotion's monitor state; a promotion never checked gets a fresh state (returns 0). */
int pb_store_monitor_get(pb_store *st, int64_t promotion_id, pb_monitor_state *out, pb_err *err);
/*
 * Records one sample and the monitor state after it (inside the caller's
 * transaction, with any post it decided: pb_store_obs_post_add); ms NULL
 * records the sample alone (a skipped slot, which changes no state).
 * PB_E_CONFLICT without text when the slot already has a sample (a restart
 * re-running a slot): nothing is written and the caller rolls back.
 */
int pb_store_sample_record(pb_store *st, const pb_sample *s, const pb_monitor_state *ms, pb_err *err);
/*
 * Records UNKNOWN samples of class `cls` for the slots from, from+step, … < to
 * that have none (a slot already sampled is left as it is), in one
 * transaction (or the caller's). *added counts the new rows. At most
 * PB_FILL_MAX slots per call (a day of 60 s slots: a failover gap is seconds):
 * older ones of a longer gap (the bot was down for days) stay without a row,
 * which reads as UNKNOWN too.
 */
#define PB_FILL_MAX 1440
int pb_store_samples_fill_unknown(pb_store *st, int64_t promotion_id, int64_t from, int64_t to, int64_t step,
				  pb_check_class cls, size_t *added, pb_err *err);
/* Samples of a promotion with from <= slot < to, oldest first. Caller frees *out. */
int pb_store_samples_range(pb_store *st, int64_t promotion_id, int64_t from, int64_t to, pb_sample **out,
			   size_t *count, pb_err *err);
/* Deletes raw samples with slot < before (retention); daily rollups stay. *deleted counts them. */
int pb_store_samples_prune(pb_store *st, int64_t before, int64_t *deleted, pb_err *err);

/*
 * Posts the observation decided to make (alerts, daily reports, the
 * verdict): an outbox. A post is added in the transaction that decided it,
 * keyed so it is decided once — (promotion, kind, key) is unique: an alert's
 * key is its slot, a report's the local civil day, the verdict's 0 — and
 * handed to the chat later: handed marks that it may have been sent, done
 * that the chat confirmed it. After a restart the pending ones are handed
 * again (those handed before are looked up in the chat by their id first),
 * none is decided again.
 */
typedef struct pb_obs_post {
	int64_t id;
	int64_t promotion_id;
	char kind[16];           /* "down", "up", "remind", "report", "verdict" */
	int64_t key;
	char *text;              /* owned: free with pb_obs_posts_free */
	int64_t created_at;
	int64_t posted_at;       /* 0 while pending: the chat has not confirmed it */
	int64_t handed_at;       /* first handed to the chat (it may have been sent); 0 never */
	char chat_ref[64];       /* where it landed (Slack: the message ts); "" unknown */
} pb_obs_post;

/* PB_E_CONFLICT without text when (promotion, kind, key) exists. Sets *id when id != NULL. */
int pb_store_obs_post_add(pb_store *st, int64_t promotion_id, const char *kind, int64_t key, const char *text,
			  int64_t now, int64_t *id, pb_err *err);
/* Marks a post handed to the chat (the first time is kept). */
int pb_store_obs_post_handed(pb_store *st, int64_t id, int64_t now, pb_err *err);
/* Marks a post delivered: the chat confirmed it; chat_ref (NULL = "") says where. */
int pb_store_obs_post_done(pb_store *st, int64_t id, int64_t now, const char *chat_ref, pb_err *err);
/* Pending posts (all promotions), oldest first; at most limit (0 = all). Free with pb_obs_posts_free. */
int pb_store_obs_posts_pending(pb_store *st, size_t limit, pb_obs_post **out, size_t *count, pb_err *err);
/* One post; PB_E_NOTFOUND without text. Free out->text with free(). */
int pb_store_obs_post_get(pb_store *st, int64_t promotion_id, const char *kind, int64_t key, pb_obs_post *out,
			  pb_err *err);
/* Every post of a promotion of `kind` (NULL = all), oldest first. */
int pb_store_obs_posts_of(pb_store *st, int64_t promotion_id, const char *kind, pb_obs_post **out,
			  size_t *count, pb_err *err);
void pb_obs_posts_free(pb_obs_post *posts, size_t count);

/* A day's figures, kept for good after the raw samples are pruned (the verdict and lessons read them). */
typedef struct pb_obs_rollup {
	int64_t promotion_id;
	int64_t day;             /* local civil day number */
	int day_index;
	uint32_t expected, up, down, unknown;
	double p50_ms, p95_ms, p99_ms;
	uint32_t log_critical, log_warning, ooms, restarts, outages;
	double cpu_avg, mem_avg_mb;
} pb_obs_rollup;

/* Inserts or replaces the rollup of (promotion, day). */
int pb_store_obs_rollup_put(pb_store *st, const pb_obs_rollup *r, pb_err *err);
/* Rollups of a promotion, by day. Caller frees *out. */
int pb_store_obs_rollups(pb_store *st, int64_t promotion_id, pb_obs_rollup **out, size_t *count, pb_err *err);

/* ---- the GitHub outbox (storage/outbox.c) ---- */
/*
 * One GitHub side effect ("op"), decided in the transaction of the state
 * change it belongs to (pb_store_ghop_add inside the caller's begin/commit)
 * and delivered later by commands/gh_outbox.c. Ops of one group run strictly
 * in id order (the head blocks only its own group); groups are independent.
 */
typedef enum { PB_GHOP_PENDING = 0, PB_GHOP_DONE, PB_GHOP_FAILED } pb_ghop_state;

typedef struct pb_ghop {
	int64_t id;
	int64_t promotion_id;    /* 0 when about a blocker alone */
	char group[64];          /* "promotion:<id>" | "blocker:<id>" */
	char kind[32];           /* "issue.open", "labels", "comment", … (commands/gh_outbox.c) */
	int64_t ref_id;          /* the local object it is about (blocker, deployment), 0 none */
	char *payload;           /* owned JSON text */
	pb_ghop_state state;
	int attempts;
	bool maybe_sent;         /* the last attempt may have reached GitHub: look before repeating */
	int64_t next_at;         /* epoch s: not before */
	int last_status;         /* HTTP-ish status of the last failure (0 none) */
	char last_error[PB_TEXT_MAX];
	char *result;            /* owned JSON text, "" until done */
	int64_t created_at;
	int64_t done_at;
} pb_ghop;

const char *pb_ghop_state_name(pb_ghop_state s); /* "pending" | "done" | "failed" */
void pb_ghop_deinit(pb_ghop *op);
void pb_ghops_free(pb_ghop *ops, size_t count);
/* Inserts a pending op due at op->created_at (must be set); sets op->id. Inside the caller's transaction. */
int pb_store_ghop_add(pb_store *st, pb_ghop *op, pb_err *err);
int pb_store_ghop_get(pb_store *st, int64_t id, pb_ghop *out, pb_err *err);
/* The head op of every group that is due (next_at <= now, lease free), oldest first; at most limit. */
int pb_store_ghops_due(pb_store *st, int64_t now, size_t limit, pb_ghop **out, size_t *count, pb_err *err);
/*
 * Takes the op for `owner` until lease_until, when it is still pending, still
 * the head of its group and not leased by someone else; sets maybe_sent (a
 * crash during the call leaves an unknown outcome) and counts the attempt.
 * PB_E_CONFLICT (no text) when someone else has it or it moved on. *was_maybe_sent
 * (may be NULL) tells whether an earlier attempt may have reached GitHub.
 */
int pb_store_ghop_claim(pb_store *st, int64_t id, const char *owner, int64_t now, int64_t lease_until,
			bool *was_maybe_sent, pb_err *err);
/*
 * After a leader takeover: every pending op claimed by the process `process`
 * (an owner token's "host:pid:nonce:" prefix) is held only until hold_until
 * (epoch s; claims ending earlier are left alone) and marked maybe_sent, so
 * the next attempt looks for what that process may have sent. *released
 * (may be NULL) gets how many moved. commands/gh_deliver.c says why the hold.
 */
int pb_store_ghops_release_process(pb_store *st, const char *process, int64_t hold_until, size_t *released,
				   pb_err *err);
/* Delivered: state done, result (JSON text, may be NULL), lease released. */
int pb_store_ghop_done(pb_store *st, int64_t id, const char *result, int64_t now, pb_err *err);
/* Try again at next_at; maybe_sent as the failed attempt left it. */
int pb_store_ghop_retry(pb_store *st, int64_t id, int64_t next_at, bool maybe_sent, int status,
			const char *error, pb_err *err);
/* Permanent failure: state failed with the reason; the group moves on. */
int pb_store_ghop_fail(pb_store *st, int64_t id, int status, const char *error, int64_t now, pb_err *err);
/* The newest op of (group, kind, ref_id) whatever its state; PB_E_NOTFOUND (no text) if none. */
int pb_store_ghop_find(pb_store *st, const char *group, const char *kind, int64_t ref_id, pb_ghop *out,
		       pb_err *err);

typedef struct pb_ghops_summary {
	size_t pending;
	size_t failed;
	int head_status;                /* the oldest pending op's last failure status (0 none yet) */
	char head_error[256];           /* and its text */
	int head_attempts;
	char failed_error[256];         /* the newest failed op's text */
} pb_ghops_summary;
/* What a promotion's card shows about its GitHub mirror (groups "promotion:<id>"). */
int pb_store_ghops_summary(pb_store *st, int64_t promotion_id, pb_ghops_summary *out, pb_err *err);
/* Pending ops over every group (the /metrics gauge). */
int pb_store_ghops_pending_count(pb_store *st, size_t *pending, pb_err *err);
/* Highest op id so far (0 none): `promobot exec` waits for the ones after it. */
int pb_store_ghops_max_id(pb_store *st, int64_t *max_id, pb_err *err);
/* Ops with id > after that are still pending (count and, when pending, the oldest one's kind/error). */
int pb_store_ghops_pending_after(pb_store *st, int64_t after, size_t *pending, pb_ghop *oldest, pb_err *err);

/* The issue URL the promotion's GitHub issue has ("" when none), next to issue_number. */
int pb_store_promotion_set_issue_url(pb_store *st, int64_t id, int64_t number, const char *url, int64_t now,
				     pb_err *err);
int pb_store_promotion_issue_url(pb_store *st, int64_t id, char *out, size_t size, pb_err *err);
/* The blocker's GitHub issue number once opened. */
int pb_store_blocker_set_issue(pb_store *st, int64_t id, int64_t issue_number, pb_err *err);

#endif
