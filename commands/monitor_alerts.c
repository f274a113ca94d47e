/* monitor_alerts.c — the DOWN/UP threshold state machine and the alert texts it decides. */
#include "pb_monitor.h"

static const char *const alert_names[] = {
	[PB_ALERT_NONE] = "none",
	[PB_ALERT_DOWN] = "down",
	[PB_ALERT_UP] = "up",
	[PB_ALERT_REMIND] = "remind",
};

const char *pb_alert_kind_name(pb_alert_kind k)
{
	return (unsigned)k <= PB_ALERT_REMIND ? alert_names[k] : "?";
}

static pb_alert_kind on_down(const pb_monitor_cfg *mc, pb_monitor_state *ms, const pb_sample *s)
{
	ms->oks = 0;
	ms->fails++;
	if (ms->health != PB_SAMPLE_DOWN && ms->fails == 1) {
		/* the outage starts at its first failure, not at the alert */
		ms->down_since = s->slot;
		ms->down_cls = s->cls;
	}
	if (ms->health != PB_SAMPLE_DOWN) {
		if (ms->fails < mc->fail_threshold)
			return PB_ALERT_NONE;
		ms->health = PB_SAMPLE_DOWN;
		ms->last_remind = s->slot;
		return PB_ALERT_DOWN;
	}
	if (mc->remind_every_min > 0 && s->slot - ms->last_remind >= (int64_t)mc->remind_every_min * 60) {
		ms->last_remind = s->slot;
		return PB_ALERT_REMIND;
	}
	return PB_ALERT_NONE;
}

static pb_alert_kind on_up(const pb_monitor_cfg *mc, pb_monitor_state *ms)
{
	ms->fails = 0;
	ms->oks++;
	if (ms->health == PB_SAMPLE_DOWN) {
		if (ms->oks < mc->success_threshold)
			return PB_ALERT_NONE;
		ms->health = PB_SAMPLE_UP;
		return PB_ALERT_UP;   /* the caller reads down_since for the duration, then clears it */
	}
	/* failures that never reached the threshold were no outage */
	ms->down_since = 0;
	if (ms->oks >= mc->success_threshold)
		ms->health = PB_SAMPLE_UP;
	return PB_ALERT_NONE;
}

pb_alert_kind pb_monitor_step(const pb_monitor_cfg *mc, pb_monitor_state *ms, const pb_sample *s)
{
	pb_alert_kind k = PB_ALERT_NONE;

	if (s->state == PB_SAMPLE_DOWN)
		k = on_down(mc, ms, s);
	else if (s->state == PB_SAMPLE_UP)
		k = on_up(mc, ms);
	ms->checks++;
	if (s->slot > ms->last_slot)
		ms->last_slot = s->slot;
	ms->last_state = s->state;
	ms->last_cls = s->cls;
	ms->last_latency_us = s->latency_us;
	return k;
}
