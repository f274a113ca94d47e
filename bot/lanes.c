/* lanes.c — the CPU lanes of the command pool and the poster (see lanes.h for why and how). */
#include "lanes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "pb_lane.h"

typedef enum guest_mode { GUEST_NONE, GUEST_OWN, GUEST_BORROWED } guest_mode;

struct pb_lanes {
	pthread_mutex_t lock;
	pthread_cond_t member_cond;  /* a lane is free for a member, or its pool stops */
	pthread_cond_t guest_cond;   /* a lane is free (or lendable) for the guest */
	pthread_cond_t returned;     /* the guest gave back a borrowed lane */
	int n;
	int free;           /* lanes nobody holds; < 0: holders came back from a wait in debt */
	int idle_members;   /* members holding a lane while they sleep waiting for a job */
	int lent;           /* of those, lanes the guest runs on (0 or 1) */
	bool guest_waiting;
	guest_mode guest;
	atomic_bool yield;  /* free < 0 || guest_waiting: read after every job without the lock */
	atomic_uint_fast64_t member_waits, guest_waits, borrowed, member_returns;
	bool pinned;        /* set before any member or guest starts, read-only after */
	cpu_set_t pin;
};

int pb_lanes_new(int n, pb_lanes **out)
{
	pb_lanes *l;

	*out = NULL;
	if (n < 1)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->member_cond, NULL);
	pthread_cond_init(&l->guest_cond, NULL);
	pthread_cond_init(&l->returned, NULL);
	l->n = n;
	l->free = n;
	*out = l;
	return 0;
}

void pb_lanes_free(pb_lanes *l)
{
	if (!l)
		return;
	pthread_cond_destroy(&l->returned);
	pthread_cond_destroy(&l->guest_cond);
	pthread_cond_destroy(&l->member_cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int pb_lanes_count(const pb_lanes *l)
{
	return l ? l->n : 0;
}

int pb_lanes_pin_last(pb_lanes *l, const cpu_set_t *allowed)
{
	int left = l->n;

	l->pinned = false;
	CPU_ZERO(&l->pin);
	if (CPU_COUNT(allowed) <= l->n)
		return 0;
	/* from the highest CPU down: the first CPUs (where the kernel starts most threads) stay free */
	for (int cpu = CPU_SETSIZE - 1; cpu >= 0 && left > 0; cpu--)
		if (CPU_ISSET(cpu, allowed)) {
			CPU_SET(cpu, &l->pin);
			left--;
		}
	l->pinned = true;
	return 1;
}

bool pb_lanes_pinned(const pb_lanes *l, cpu_set_t *out)
{
	if (!l || !l->pinned)
		return false;
	*out = l->pin;
	return true;
}

int pb_lanes_pin_self(const pb_lanes *l)
{
	if (!l || !l->pinned)
		return 0;
	return -pthread_setaffinity_np(pthread_self(), sizeof(l->pin), &l->pin);
}

void pb_lanes_stats_get(pb_lanes *l, pb_lanes_stats *out)
{
	out->member_waits = atomic_load(&l->member_waits);
	out->guest_waits = atomic_load(&l->guest_waits);
	out->borrowed = atomic_load(&l->borrowed);
	out->member_returns = atomic_load(&l->member_returns);
	pthread_mutex_lock(&l->lock);
	out->free = l->free;
	out->idle_members = l->idle_members;
	pthread_mutex_unlock(&l->lock);
}

/* Caller holds the lock. */
static void update_yield(pb_lanes *l)
{
	atomic_store(&l->yield, l->free < 0 || l->guest_waiting);
}

/* Caller holds the lock: a lane may have come free; the guest goes first. */
static void wake_one(pb_lanes *l)
{
	if (l->guest_waiting && (l->free > 0 || l->idle_members > l->lent))
		pthread_cond_signal(&l->guest_cond);
	else if (l->free > 0)
		pthread_cond_signal(&l->member_cond);
}

static void give_lane(pb_lanes *l)
{
	pthread_mutex_lock(&l->lock);
	l->free++;
	update_yield(l);
	wake_one(l);
	pthread_mutex_unlock(&l->lock);
}

/* Back from a wait: run at once, in debt if every lane is taken (the next member to end a job pays it). */
static void back_lane(pb_lanes *l)
{
	pthread_mutex_lock(&l->lock);
	l->free--;
	update_yield(l);
	pthread_mutex_unlock(&l->lock);
}

static void member_leave(void *ud)
{
	give_lane(ud);
}

static void member_enter(void *ud)
{
	back_lane(ud);
}

static const pb_lane_ops member_ops = { member_leave, member_enter };

void pb_lanes_member_take(pb_lanes *l, const atomic_bool *stop)
{
	pthread_mutex_lock(&l->lock);
	if ((l->free <= 0 || l->guest_waiting) && !atomic_load(stop))
		atomic_fetch_add(&l->member_waits, 1);
	while ((l->free <= 0 || l->guest_waiting) && !atomic_load(stop))
		pthread_cond_wait(&l->member_cond, &l->lock);
	l->free--; /* a stopping pool may overdraw: it drains with every thread, as without lanes */
	update_yield(l);
	pthread_mutex_unlock(&l->lock);
	pb_lane_bind(&member_ops, l);
}

void pb_lanes_member_give(pb_lanes *l)
{
	pb_lane_bind(NULL, NULL);
	give_lane(l);
}

void pb_lanes_member_idle(pb_lanes *l, bool idle, const atomic_bool *stop)
{
	pthread_mutex_lock(&l->lock);
	if (idle) {
		l->idle_members++;
		wake_one(l); /* a waiting guest may borrow this lane while the member sleeps */
	} else {
		l->idle_members--;
		/* a job came: if the guest runs on this (sleeping) member's lane, wait for it back */
		if (l->lent > l->idle_members && !atomic_load(stop))
			atomic_fetch_add(&l->member_returns, 1);
		while (l->lent > l->idle_members && !atomic_load(stop))
			pthread_cond_wait(&l->returned, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
}

bool pb_lanes_member_should_yield(pb_lanes *l)
{
	return atomic_load_explicit(&l->yield, memory_order_relaxed);
}

void pb_lanes_wake(pb_lanes *l)
{
	pthread_mutex_lock(&l->lock);
	pthread_cond_broadcast(&l->member_cond);
	pthread_cond_broadcast(&l->returned);
	pthread_mutex_unlock(&l->lock);
}

/* ---- the guest ---- */

static void guest_give_locked(pb_lanes *l)
{
	if (l->guest == GUEST_BORROWED) {
		l->lent--;
		pthread_cond_broadcast(&l->returned);
	} else if (l->guest == GUEST_OWN) {
		l->free++;
		wake_one(l);
	}
	l->guest = GUEST_NONE;
	update_yield(l);
}

static void guest_leave(void *ud)
{
	pb_lanes *l = ud;

	pthread_mutex_lock(&l->lock);
	guest_give_locked(l);
	pthread_mutex_unlock(&l->lock);
}

static void guest_enter(void *ud)
{
	pb_lanes *l = ud;

	pthread_mutex_lock(&l->lock);
	l->free--;
	l->guest = GUEST_OWN;
	update_yield(l);
	pthread_mutex_unlock(&l->lock);
}

static const pb_lane_ops guest_ops = { guest_leave, guest_enter };

/* Caller holds the lock. */
static bool guest_try(pb_lanes *l)
{
	if (l->free > 0) {
		l->free--;
		l->guest = GUEST_OWN;
		return true;
	}
	if (l->idle_members > l->lent) {
		l->lent++;
		l->guest = GUEST_BORROWED;
		atomic_fetch_add(&l->borrowed, 1);
		return true;
	}
	return false;
}

void pb_lanes_guest_take(pb_lanes *l)
{
	pthread_mutex_lock(&l->lock);
	if (!guest_try(l)) {
		atomic_fetch_add(&l->guest_waits, 1);
		l->guest_waiting = true;
		update_yield(l);
		do
			pthread_cond_wait(&l->guest_cond, &l->lock);
		while (!guest_try(l));
		l->guest_waiting = false;
		update_yield(l);
		wake_one(l); /* members held back for the guest may go on if lanes are left */
	}
	pthread_mutex_unlock(&l->lock);
	pb_lane_bind(&guest_ops, l);
}

void pb_lanes_guest_give(pb_lanes *l)
{
	pb_lane_bind(NULL, NULL);
	pthread_mutex_lock(&l->lock);
	guest_give_locked(l);
	pthread_mutex_unlock(&l->lock);
}
