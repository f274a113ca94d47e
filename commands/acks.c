/* acks.c — the delivery confirmation queue (pb_acks.h): a locked list, reference-counted. */
#include "pb_acks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pb_log.h"
#include "pb_str.h"

typedef struct ack_node {
	pb_ack ack;
	struct ack_node *next;
} ack_node;

struct pb_acks {
	atomic_int refs;
	pthread_mutex_t lock;
	ack_node *head, *tail;
};

pb_acks *pb_acks_new(void)
{
	pb_acks *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	atomic_init(&a->refs, 1);
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

pb_acks *pb_acks_ref(pb_acks *a)
{
	if (a)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

void pb_acks_unref(pb_acks *a)
{
	if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	while (a->head) {
		ack_node *n = a->head;

		a->head = n->next;
		free(n);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void pb_acks_push(pb_acks *a, const char *id, bool ok, const char *ref)
{
	ack_node *n;

	if (!a || !id)
		return;
	n = calloc(1, sizeof(*n));
	if (!n) {
		pb_error("chat", "out of memory: the confirmation of %s is lost (handed again later)", id);
		return;
	}
	pb_strlcpy(n->ack.id, id, sizeof(n->ack.id));
	pb_strlcpy(n->ack.ref, ref ? ref : "", sizeof(n->ack.ref));
	n->ack.ok = ok;
	pthread_mutex_lock(&a->lock);
	if (a->tail)
		a->tail->next = n;
	else
		a->head = n;
	a->tail = n;
	pthread_mutex_unlock(&a->lock);
}

size_t pb_acks_take(pb_acks *a, pb_ack *out, size_t max)
{
	size_t k = 0;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	while (a->head && k < max) {
		ack_node *n = a->head;

		a->head = n->next;
		if (!a->head)
			a->tail = NULL;
		out[k++] = n->ack;
		free(n);
	}
	pthread_mutex_unlock(&a->lock);
	return k;
}
