/* gh_deliver.c — delivers the GitHub outbox: head of each group in order, retries, unknown outcomes. */
#include "pb_ghout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gh_priv.h"
#include "github.h"
#include "pb_card.h"
#include "pb_json.h"
#include "pb_log.h"
#include "pb_workflow.h"

#define GH_MOD "gh-outbox"
#define GH_BATCH 32
#define GH_DEFAULT_MAX 256
#define GH_BACKOFF_BASE_S 2
#define GH_BACKOFF_MAX_S 600
#define GH_LEASE_MIN_S 60

void pb_ghout_marker(int64_t id, char *out, size_t size)
{
	snprintf(out, size, "<!-- promobot:op=%lld -->", (long long)id);
}

/* ---- outcomes ---- */

/* The HTTP status in a client error text ("… (HTTP 502) for …"), 0 when none (timeouts). */
static int status_of(const char *text)
{
	const char *s = text ? strstr(text, "(HTTP ") : NULL;
	long v;

	if (!s)
		return 0;
	v = strtol(s + 6, NULL, 10);
	return v > 0 && v < 1000 ? (int)v : 0;
}

static void tell_thread(const pb_services *svc, int64_t promotion_id, const char *title, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void tell_thread(const pb_services *svc, int64_t promotion_id, const char *title, const char *fmt, ...)
{
	pb_promotion p;
	pb_card *card;
	char text[1024];
	va_list ap;
	pb_err e;

	pb_err_init(&e);
	if (!svc->system_sink || !promotion_id || pb_store_promotion_get(svc->store, promotion_id, &p, &e))
		return;
	card = pb_cmd_thread_card(&p, title);
	if (!card)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pb_card_text(card, "%s", text);
	pb_sink_emit(svc->system_sink, card);
	pb_card_free(card);
}

/* What the op's success leaves in storage besides its row: the issue numbers. */
static int record_done(const gh_dl *d, const char *result, pb_err *err)
{
	const pb_services *svc = d->svc;
	int64_t now = pb_services_now(svc), number = 0;
	const char *url = d->result ? pb_json_str(d->result, "url") : NULL;
	int r = pb_store_begin(svc->store, err);

	if (r)
		return r;
	r = pb_store_ghop_done(svc->store, d->op->id, result, now, err);
	if (r == PB_E_CONFLICT)
		r = pb_err_set(err, PB_E_CONFLICT, "GitHub outbox: op #%lld was taken over", (long long)d->op->id);
	if (r == 0 && d->result)
		pb_json_int(d->result, "number", 1, INT64_MAX, &number);
	if (r == 0 && number && !strcmp(d->op->kind, "issue.open"))
		r = pb_store_promotion_set_issue_url(svc->store, d->op->promotion_id, number, url ? url : "", now, err);
	if (r == 0 && number && !strcmp(d->op->kind, "blocker.open"))
		r = pb_store_blocker_set_issue(svc->store, d->op->ref_id, number, err);
	if (r == 0)
		r = pb_store_commit(svc->store, err);
	if (r)
		pb_store_rollback(svc->store);
	if (r == 0 && number && !strcmp(d->op->kind, "issue.open"))
		tell_thread(svc, d->op->promotion_id, "GitHub issue opened", "GitHub: #%lld %s", (long long)number,
			    url ? url : "");
	return r;
}

static int record_failed(const gh_dl *d, int status, const char *why, pb_err *err)
{
	const pb_services *svc = d->svc;
	int64_t now = pb_services_now(svc);
	pb_promotion p;
	pb_event ev;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.promotion_id = d->op->promotion_id;
	if (d->op->promotion_id && pb_store_promotion_get(svc->store, d->op->promotion_id, &p, NULL) == 0)
		pb_strlcpy(ev.component, p.component, sizeof(ev.component));
	pb_strlcpy(ev.actor, "promobot", sizeof(ev.actor));
	pb_strlcpy(ev.kind, "github.failed", sizeof(ev.kind));
	snprintf(ev.detail, sizeof(ev.detail), "op #%lld %s: %s", (long long)d->op->id, d->op->kind, why);
	ev.at = now;
	r = pb_store_begin(svc->store, err);
	if (r)
		return r;
	r = pb_store_ghop_fail(svc->store, d->op->id, status, why, now, err);
	if (r == 0 && ev.component[0])
		r = pb_store_event_append(svc->store, &ev, err);
	if (r == 0)
		r = pb_store_commit(svc->store, err);
	if (r) {
		pb_store_rollback(svc->store);
		return r == PB_E_CONFLICT ? 0 : r;
	}
	pb_warn(GH_MOD, "op #%lld (%s, %s) failed for good: %s", (long long)d->op->id, d->op->kind, d->op->group, why);
	tell_thread(svc, d->op->promotion_id, "⚠️ GitHub update failed",
		    "%s could not be done on GitHub: %s. The next updates go on; fix this one by hand on GitHub.",
		    d->op->kind, why);
	return 0;
}

/* Exponential backoff with a jitter of up to a quarter, derived from the op so every run spreads alike. */
static int64_t backoff_s(const pb_ghop *op)
{
	int shift = op->attempts > 1 ? op->attempts - 1 : 0;
	int64_t delay = shift >= 9 ? GH_BACKOFF_MAX_S : (int64_t)GH_BACKOFF_BASE_S << shift;
	uint64_t h = (uint64_t)op->id * 2654435761u + (uint64_t)op->attempts * 40503u;

	if (delay > GH_BACKOFF_MAX_S)
		delay = GH_BACKOFF_MAX_S;
	return delay + (int64_t)(h % (uint64_t)(delay / 4 + 1));
}

static int record_retry(const gh_dl *d, pb_ghop *op, int status, const char *why, pb_err *err)
{
	const pb_services *svc = d->svc;
	int64_t now = pb_services_now(svc), next = now + backoff_s(op);
	pb_github_stats gs;
	/* stopped by the gate halfway through an op: an earlier request of it may have acted */
	bool maybe = d->lookup || pb_github_maybe_sent(d->g) || pb_github_gate_refused(d->g);
	int r;

	pb_github_get_stats(d->g, &gs);
	/* a primary rate limit says when it resets: no use knocking before */
	if (gs.rate_remaining == 0 && gs.rate_reset > next)
		next = gs.rate_reset;
	r = pb_store_ghop_retry(svc->store, op->id, next, maybe, status, why, err);
	pb_info(GH_MOD, "op #%lld (%s) attempt %d: %s; retrying in %lld s%s", (long long)op->id, op->kind,
		op->attempts, why, (long long)(next - now), maybe ? " (outcome unknown: will look first)" : "");
	return r == PB_E_CONFLICT ? 0 : r;
}

static int64_t lease_s(const pb_services *svc)
{
	int64_t s = (int64_t)svc->cfg->github.timeout_ms * 4 / 1000;

	return s < GH_LEASE_MIN_S ? GH_LEASE_MIN_S : s;
}

/* ---- a leader change ---- */

/*
 * Fencing, and why the released claims are still held a little while.
 *
 * Only the scheduler leader delivers. Its ops are claimed for lease_s()
 * (4 × github.timeout_ms, at least 60 s) so that nobody else sends one while
 * its request may be on the wire. When the leader dies that claim is just a
 * wait: the new leader would send the op only a minute or more later. So the
 * replica that takes an expired scheduler lease over releases the previous
 * holder's claims at once (pb_ghout_takeover) — but not to zero, because the
 * previous leader may not be dead, only paused (SIGSTOP, a stall, a hung
 * request), and GitHub takes no fencing token we could attach to a request:
 *
 *  1. The old leader stops starting requests once it is no longer sure it
 *     leads. Its background workers' GitHub client asks a gate before every
 *     try of every request (pb_github_set_gate, after any rate-limit, backoff
 *     or write-budget wait); the runtime's gate compares the monotonic clock
 *     with the lease's renew deadline (two thirds of the lease after the last
 *     successful renewal began, so before the lease can expire). A stall
 *     anywhere before the check is caught by it; deliver_one also asks before
 *     claiming, so a replica that lost the lease claims nothing.
 *  2. A request that was already on the wire when the old leader's deadline
 *     passed ends (answered or timed out by curl) within github.timeout_ms.
 *     Its last byte reaches GitHub before the old lease's expiry + timeout_ms
 *     (the deadline is a third of a lease before the expiry, which absorbs
 *     clock skew between replicas, see README). The released claim is held
 *     until exactly then (+1 s: the column counts seconds), and marked
 *     maybe_sent: the new leader's first attempt looks for the op's marker
 *     after anything the old one sent has landed, and adopts it.
 *  3. What is not covered: a process frozen between the gate's check and the
 *     write of the request onto its socket (a few instructions) for longer
 *     than lease/3 + timeout_ms; and GitHub still working on a request whose
 *     sender gave up on it (curl's timeout) more than lease/3 later. Closing
 *     those would need GitHub to refuse a stale writer, which it cannot; the
 *     margin of a third of a lease is what stands between them and a double.
 *
 * Today's bound for a failover is therefore the leader lease (the takeover)
 * plus github.timeout_ms + 1 s, instead of the whole op claim.
 */
int pb_ghout_takeover(pb_store *st, const pb_config *cfg, const pb_lease *prev, const char *own, size_t *released,
		      int64_t *hold_until, pb_err *err)
{
	char process[PB_ID_MAX];
	const char *p = prev ? prev->owner : "";
	int64_t timeout_ms = cfg->github.timeout_ms > 0 ? cfg->github.timeout_ms : 30000, until;
	size_t len = 0;
	int colons = 0;

	if (released)
		*released = 0;
	if (hold_until)
		*hold_until = 0;
	/* the process part of "host:pid:nonce:worker", its trailing ':' included */
	while (p[len] && colons < 3)
		if (p[len++] == ':')
			colons++;
	if (colons < 3 || len >= sizeof(process))
		return 0; /* no owner (a clean release) or not a token of ours: nothing was claimed under it */
	memcpy(process, p, len);
	process[len] = '\0';
	if (own && !strncmp(own, process, len))
		return 0; /* our own process: its claims are live, not a dead leader's */
	until = prev->expires_at + (timeout_ms + 999) / 1000 + 1;
	if (hold_until)
		*hold_until = until;
	return pb_store_ghops_release_process(st, process, until, released, err);
}

/*
 * One op: claim, run, record. 1 when delivered, 2 retried, 3 failed, 0 taken by someone else,
 * 4 this process may no longer send (the gate: it is not sure it still leads); <0 fatal.
 */
static int deliver_one(const pb_services *svc, pb_ghop *op, pb_err *err)
{
	int64_t now = pb_services_now(svc);
	bool was_maybe = false;
	char *result = NULL;
	pb_err e;
	gh_dl d;
	int r;

	/* a replica that lost the lease claims nothing: the op stays free for the new leader */
	if (!pb_github_may_send(svc->github))
		return 4;
	r = pb_store_ghop_claim(svc->store, op->id, svc->lock_owner, now, now + lease_s(svc), &was_maybe, err);
	if (r == PB_E_CONFLICT)
		return 0;
	if (r)
		return r;
	op->attempts++;
	memset(&d, 0, sizeof(d));
	d.svc = svc;
	d.g = svc->github;
	d.op = op;
	d.lookup = was_maybe;
	pb_ghout_marker(op->id, d.marker, sizeof(d.marker));
	pb_err_init(&e);
	d.pl = cJSON_Parse(op->payload);
	d.repo = pb_json_str(d.pl, "repo");
	if (!d.pl || !d.repo)
		r = pb_err_set(&e, PB_E_INVALID, "GitHub outbox: op #%lld has an unreadable payload", (long long)op->id);
	else
		r = gh_run_op(&d, &e);
	if (r == 0) {
		result = d.result ? cJSON_PrintUnformatted(d.result) : NULL;
		r = record_done(&d, result, err);
		r = r ? r : 1;
	} else if (r == PB_E_UNAVAILABLE || r == PB_E_BUSY || r < 0) {
		/* <0 from the client (out of memory, a storage read) is worth another try too */
		int fatal = r < 0 ? r : 0;

		r = record_retry(&d, op, status_of(pb_err_text(&e)), pb_err_text(&e), err);
		if (r == 0 && fatal)
			r = pb_err_set(err, fatal, "%s", pb_err_text(&e));
		r = r ? r : pb_github_gate_refused(d.g) ? 4 : 2;
	} else {
		r = record_failed(&d, status_of(pb_err_text(&e)), pb_err_text(&e), err);
		r = r ? r : 3;
	}
	cJSON_free(result);
	cJSON_Delete(d.result);
	cJSON_Delete(d.pl);
	return r;
}

int pb_ghout_deliver(const pb_services *svc, size_t max_ops, pb_ghout_stats *stats, pb_err *err)
{
	pb_ghout_stats local;
	size_t done = 0;
	int r = 0;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (!svc->github)
		return 0;
	if (!max_ops)
		max_ops = GH_DEFAULT_MAX;
	for (;;) {
		pb_ghop *due = NULL;
		size_t n = 0, moved = 0;

		r = pb_store_ghops_due(svc->store, pb_services_now(svc), GH_BATCH, &due, &n, err);
		if (r)
			break;
		/* one op per group per round: the next of a group is due only once its head is done */
		for (size_t i = 0; i < n && r >= 0 && done < max_ops; i++) {
			r = deliver_one(svc, &due[i], err);
			if (r == 4) {
				pb_info(GH_MOD, "delivery stopped: this replica is no longer sure it leads");
				break;
			}
			if (r > 0)
				done++;
			if (r == 1)
				stats->delivered++, moved++;
			else if (r == 2)
				stats->retried++;
			else if (r == 3)
				stats->failed++, moved++;
		}
		pb_ghops_free(due, n);
		if (r < 0 || r == 4 || moved == 0 || done >= max_ops)
			break;
	}
	if (r >= 0)
		r = pb_store_ghops_pending_count(svc->store, &stats->pending, err);
	return r < 0 ? r : 0;
}

int pb_ghout_wait(const pb_services *svc, int64_t after_id, int64_t bound_ms, pb_err *err)
{
	int64_t deadline = pb_clock_mono_ms(svc->clock) + bound_ms;
	pb_ghop oldest;
	size_t pending = 0;
	int r;

	for (;;) {
		memset(&oldest, 0, sizeof(oldest));
		r = pb_ghout_deliver(svc, 0, NULL, err);
		if (r == 0)
			r = pb_store_ghops_pending_after(svc->store, after_id, &pending, &oldest, err);
		if (r)
			return r;
		if (pending == 0)
			return 0;
		if (!svc->github || pb_clock_mono_ms(svc->clock) >= deadline)
			break;
		pb_ghop_deinit(&oldest);
		/* the next retry is at least a second away: sleep on the clock (a fake one in tests) */
		pb_clock_sleep_ms(svc->clock, 1000);
	}
	r = pb_err_set(err, PB_E_BUSY, "GitHub: %zu update%s still pending (oldest: %s%s%s); the bot delivers %s",
		       pending, pending == 1 ? "" : "s", oldest.kind, oldest.last_error[0] ? ", " : "", oldest.last_error,
		       pending == 1 ? "it" : "them");
	pb_ghop_deinit(&oldest);
	return r;
}
