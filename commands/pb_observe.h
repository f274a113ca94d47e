/* pb_observe.h — work the bot does on its own clock for promotions under observation. */
#ifndef PB_OBSERVE_H
#define PB_OBSERVE_H

#include <stddef.h>

#include "pb_err.h"
#include "pb_services.h"

/*
 * For every promotion in `observing` whose observation period (policy
 * observation_days) has ended by the services' clock, and that was not told
 * yet: records an "observation.ended" audit event, then posts a card to its
 * thread through svc->system_sink saying the period is over and what comes
 * next. Once per promotion (the event is the memory; a crash between the
 * record and the post loses that one card rather than repeating it).
 * *posted counts the cards. 0 ok, <0 storage failure (err set).
 */
int pb_observe_due(const pb_services *svc, size_t *posted, pb_err *err);

#endif
