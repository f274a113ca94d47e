/* observe_due.c — tells a promotion's thread when its observation period is over (a scheduled job). */
#include "pb_observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "pb_workflow.h"

#define OBSERVE_ENDED_KIND "observation.ended"

/* 1 when the promotion already got its card, 0 when not, <0 on storage failure. */
static int already_told(const pb_services *svc, int64_t promotion_id, pb_err *err)
{
	pb_event *ev = NULL;
	size_t n = 0;
	int r = pb_store_events_for_promotion(svc->store, promotion_id, &ev, &n, err);

	if (r)
		return r < 0 ? r : pb_err_set(err, -EIO, "storage: events of #%lld unreadable", (long long)promotion_id);
	for (size_t i = 0; i < n && r == 0; i++)
		r = !strcmp(ev[i].kind, OBSERVE_ENDED_KIND);
	free(ev);
	return r;
}

static int record_ended(const pb_services *svc, const pb_promotion *p, int64_t now, pb_err *err)
{
	pb_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.promotion_id = p->id;
	pb_strlcpy(ev.component, p->component, sizeof(ev.component));
	pb_strlcpy(ev.actor, "promobot", sizeof(ev.actor));
	pb_strlcpy(ev.kind, OBSERVE_ENDED_KIND, sizeof(ev.kind));
	snprintf(ev.detail, sizeof(ev.detail), "%d-day observation period over",
		 svc->cfg->policy.observation_days);
	ev.at = now;
	return pb_store_event_append(svc->store, &ev, err);
}

static void post_ended(const pb_services *svc, const pb_promotion *p)
{
	const pb_component *c = pb_config_component(svc->cfg, p->component);
	pb_card *card = pb_cmd_thread_card(p, "🏁 Observation period over");

	if (!card)
		return;
	pb_card_text(card, "%s has been observed at %s for %d day(s). Next: a deployer runs /promote complete %s",
		     c ? c->name : p->component, pb_stage_title((pb_stage)p->target_stage),
		     svc->cfg->policy.observation_days, p->component);
	pb_sink_emit(svc->system_sink, card);
	pb_card_free(card);
}

int pb_observe_due(const pb_services *svc, size_t *posted, pb_err *err)
{
	const pb_state observing = PB_ST_OBSERVING;
	int64_t now = pb_services_now(svc);
	pb_promotion *list = NULL;
	size_t n = 0;
	int r;

	*posted = 0;
	r = pb_store_promotions_in_state(svc->store, &observing, 1, &list, &n, err);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const pb_promotion *p = &list[i];

		if (now < p->observing_since + (int64_t)svc->cfg->policy.observation_days * 86400)
			continue;
		r = already_told(svc, p->id, err);
		if (r == 0)
			r = record_ended(svc, p, now, err);
		if (r == 0) {
			post_ended(svc, p);
			(*posted)++;
		}
	}
	free(list);
	return r < 0 ? r : 0;
}
