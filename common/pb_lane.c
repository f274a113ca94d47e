/* pb_lane.c — per-thread binding of the "this thread waits now" hooks to its worker pool's CPU lanes. */
#include "pb_lane.h"

#include <stddef.h>

static __thread const pb_lane_ops *lane_ops;
static __thread void *lane_ud;
static __thread int lane_depth; /* open leaves: nested waits (a retry's sleep inside a wrapped call) count once */

void pb_lane_bind(const pb_lane_ops *ops, void *ud)
{
	lane_ops = ops;
	lane_ud = ud;
	lane_depth = 0;
}

void pb_lane_leave(void)
{
	if (lane_ops && lane_depth++ == 0)
		lane_ops->leave(lane_ud);
}

void pb_lane_enter(void)
{
	if (lane_ops && lane_depth > 0 && --lane_depth == 0)
		lane_ops->enter(lane_ud);
}
