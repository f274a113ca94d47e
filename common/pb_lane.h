/* pb_lane.h — a thread says when it waits (HTTP, a sleep, a lock, a child) so its CPU lane can serve another job. */
#ifndef PB_LANE_H
#define PB_LANE_H

/*
 * A worker pool can cap how many of its jobs use the CPU at once (see
 * workers.h, `lanes`). Its threads bind themselves here; code anywhere below
 * (integrations' HTTP, the clock's sleep, storage's busy retry, a deploy's
 * poll) brackets a wait with pb_lane_leave/pb_lane_enter so that a job stuck
 * in a two-minute deploy or a slow GitHub call never holds a lane. Both are
 * no-ops on a thread that is not bound (the loop, the poster, tests) and
 * nest: only the outermost pair reaches the pool. enter never waits: a job
 * that comes back from its wait runs at once, and the pool takes the lane
 * back from the next job that ends.
 */
typedef struct pb_lane_ops {
	void (*leave)(void *ud);
	void (*enter)(void *ud);
} pb_lane_ops;

/* Binds the calling thread (ops NULL unbinds). */
void pb_lane_bind(const pb_lane_ops *ops, void *ud);
/* The calling thread is about to wait for something outside its own CPU work. */
void pb_lane_leave(void);
/* … and is back. */
void pb_lane_enter(void);

#endif
