/* pb_lease_keeper.h — renews a component lease in the background while a long command (a deploy) runs. */
#ifndef PB_LEASE_KEEPER_H
#define PB_LEASE_KEEPER_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_services.h"

typedef struct pb_lease_keeper pb_lease_keeper;

/*
 * Starts renewing the component lease that svc->lock_owner holds, every
 * third of the store's lease_s, on its own thread and its own storage
 * connection (a step blocked on the engine for minutes still renews).
 * *out stays NULL (and 0 is returned) when the lease is not held by this
 * owner: a deploy run outside a locked command has nothing to keep.
 */
int pb_lease_keeper_start(const pb_services *svc, const char *component, pb_lease_keeper **out, pb_err *err);
/* True once a renewal failed: the lease is lost, the caller stops at its next step. why gets the reason. */
bool pb_lease_keeper_lost(pb_lease_keeper *k, char *why, size_t size);
/* Stops renewing (the command's end releases the lease); safe on NULL. */
void pb_lease_keeper_stop(pb_lease_keeper *k);

#endif
