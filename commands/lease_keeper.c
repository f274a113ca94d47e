/* lease_keeper.c — keeps a component lease alive during a long command; a failed renewal marks it lost. */
#include "pb_lease_keeper.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_log.h"
#include "pb_str.h"

struct pb_lease_keeper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool lost;
	char why[300];
	pb_store *store;           /* the keeper's own connection: the command's is busy on its thread */
	const pb_clock *clock;
	char component[PB_ID_MAX];
	char owner[192];
	long interval_ms;
};

static void *keeper_main(void *arg)
{
	pb_lease_keeper *k = arg;
	pb_err e;
	int r;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		pb_cond_wait_ms(&k->wake, &k->lock, k->interval_ms);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->lock);
		pb_err_init(&e);
		r = pb_store_lock_renew(k->store, k->component, k->owner, pb_clock_now(k->clock), &e);
		pthread_mutex_lock(&k->lock);
		if (r) {
			k->lost = true;
			pb_strlcpy(k->why, pb_err_text(&e), sizeof(k->why));
			pb_warn("deploy", "lease of %s not renewed: %s", k->component, k->why);
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

static void keeper_free(pb_lease_keeper *k)
{
	pb_store_close(k->store);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int pb_lease_keeper_start(const pb_services *svc, const char *component, pb_lease_keeper **out, pb_err *err)
{
	char name[PB_ID_MAX + 16];
	pb_lease_keeper *k;
	pb_lease row;
	int r;

	*out = NULL;
	snprintf(name, sizeof(name), "component:%s", component);
	r = pb_store_lease_get(svc->store, name, &row, err);
	if (r == PB_E_NOTFOUND || (r == 0 && strcmp(row.owner, svc->lock_owner) != 0))
		return 0;
	if (r)
		return r;
	k = calloc(1, sizeof(*k));
	if (!k)
		return pb_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&k->lock, NULL);
	pb_cond_init_mono(&k->wake);
	k->clock = svc->clock;
	pb_strlcpy(k->component, component, sizeof(k->component));
	pb_strlcpy(k->owner, svc->lock_owner, sizeof(k->owner));
	k->interval_ms = (long)(svc->cfg->ha.lease_s > 0 ? svc->cfg->ha.lease_s : PB_LEASE_DEFAULT_S) * 1000L / 3;
	/* its own connection (a store is one thread's), opened like the worker's: SQLite or PostgreSQL */
	r = pb_services_store_open(svc->cfg, &k->store, err);
	if (r == 0) {
		if (pthread_create(&k->thread, NULL, keeper_main, k) != 0)
			r = pb_err_set(err, -EAGAIN, "cannot start the lease keeper of %s", component);
	}
	if (r) {
		keeper_free(k);
		return r;
	}
	*out = k;
	return 0;
}

bool pb_lease_keeper_lost(pb_lease_keeper *k, char *why, size_t size)
{
	bool lost;

	if (!k)
		return false;
	pthread_mutex_lock(&k->lock);
	lost = k->lost;
	if (lost && why)
		pb_strlcpy(why, k->why, size);
	pthread_mutex_unlock(&k->lock);
	return lost;
}

void pb_lease_keeper_stop(pb_lease_keeper *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	keeper_free(k);
}
