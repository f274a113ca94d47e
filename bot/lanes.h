/* lanes.h — a CPU budget shared by a worker pool and the Slack poster: at most N of their jobs compute at once. */
#ifndef PB_LANES_H
#define PB_LANES_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Why: on a small machine every runnable reply thread is one more thread the
 * loop's wake-up must preempt before it acks (issue 7's sequential bench:
 * 4 workers at nice 19 took the ack p99 to 3.3× the floor client's, 1 worker
 * to 1.7×). With N lanes (the CPUs minus one by default) the command workers
 * and the poster together keep at most N CPUs busy, and the loop's CPU stays
 * free for acks.
 *
 * Members (a pool's workers) hold a lane while they wait for jobs too, so
 * back-to-back jobs cost no hand-off between threads; idle members sleep
 * for a lane. A guest (the poster) waits for a lane ahead of the members,
 * and may borrow the lane of a member that sleeps waiting for jobs — the
 * member, woken by a job, waits until the guest is done.
 *
 * A holder that waits for something outside its CPU work (HTTP, a sleep, a
 * lock, a child process) gives its lane away (pb_lane_leave, see pb_lane.h)
 * and comes back in debt without waiting; the next member to end a job while
 * in debt hands its lane over. Members only ever sleep for a lane between
 * jobs, holding nothing, so lanes cannot deadlock against storage or each
 * other; a pool that stops no longer waits for lanes at all.
 */
typedef struct pb_lanes pb_lanes;

/*
 * Pinning (worker_pin): with fewer lanes than CPUs the process may run on,
 * the lanes' threads run only on the last N of those CPUs. The cap alone
 * leaves the kernel free to move the one busy reply thread onto the CPU the
 * loop (and whatever acks wait on) just woke up on; pinned, the reply work
 * stays on its own CPUs and wake-ups find the others idle (issue 7's
 * sequential bench, 2 CPUs, ten runs each: ack p99 / floor, median 1.94x
 * unpinned -> 1.74x pinned). The threads lose the freedom to use an idle
 * first CPU: worker_pin: false gives it back. What they start keeps the
 * pinning (a deploy's lease keeper) except a validation check: its child
 * gets the process's CPUs back (integrations/checks.c).
 */

typedef struct pb_lanes_stats {
	uint64_t member_waits; /* a member found no lane and slept */
	uint64_t guest_waits;  /* the guest found no lane and slept */
	uint64_t borrowed;     /* the guest ran on an idle member's lane */
	uint64_t member_returns; /* a member woken by a job waited for its lane back from the guest */
	int free, idle_members;  /* now: lanes nobody holds (< 0: in debt), holders sleeping for jobs */
} pb_lanes_stats;

/* n >= 1 lanes. 0 ok, -ENOMEM. */
int pb_lanes_new(int n, pb_lanes **out);
/* After every member and guest let go. NULL-safe. */
void pb_lanes_free(pb_lanes *l);
int pb_lanes_count(const pb_lanes *l);
void pb_lanes_stats_get(pb_lanes *l, pb_lanes_stats *out);

/*
 * Pins the lanes' threads to the last pb_lanes_count() CPUs of *allowed (the
 * process's affinity mask). Returns 1 when they will be pinned, 0 when there
 * are no more CPUs than lanes (nothing to leave free: not pinned).
 */
int pb_lanes_pin_last(pb_lanes *l, const cpu_set_t *allowed);
/* The CPUs the lanes' threads are pinned to; false when not pinned. */
bool pb_lanes_pinned(const pb_lanes *l, cpu_set_t *out);
/* Called once by each member and the guest on its own thread; no-op unpinned. 0 or -errno. */
int pb_lanes_pin_self(const pb_lanes *l);

/* ---- members (workers.c) ---- */
/* Between jobs: waits for a lane unless *stop; also binds pb_lane_leave/enter of the calling thread. */
void pb_lanes_member_take(pb_lanes *l, const atomic_bool *stop);
/* Lets go of the lane (and unbinds the thread). */
void pb_lanes_member_give(pb_lanes *l);
/* The holder is about to sleep waiting for a job (true) or has one (false; may wait for a guest to return a borrowed lane). */
void pb_lanes_member_idle(pb_lanes *l, bool idle, const atomic_bool *stop);
/* After a job: true when the lane should go to someone else (debt or a waiting guest). */
bool pb_lanes_member_should_yield(pb_lanes *l);
/* A stopping pool: wakes its members that sleep for a lane (they see their stop flag). */
void pb_lanes_wake(pb_lanes *l);

/* ---- the guest (one thread, the poster) ---- */
/* Waits for a lane (or borrows an idle member's) and binds pb_lane_leave/enter of the calling thread. */
void pb_lanes_guest_take(pb_lanes *l);
void pb_lanes_guest_give(pb_lanes *l);

#endif
