/* pb_log.c — stderr logger; redacts registered secrets so tokens never reach logs. */
#include "pb_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PB_LOG_MAX_SECRETS 32

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pb_log_level log_level = PB_LOG_INFO;
static char *log_secrets[PB_LOG_MAX_SECRETS];
static int log_nsecrets;

void pb_log_set_level(pb_log_level level)
{
	log_level = level;
}

void pb_log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < 6)
		return;
	pthread_mutex_lock(&log_lock);
	if (log_nsecrets < PB_LOG_MAX_SECRETS) {
		char *copy = strdup(secret);
		if (copy)
			log_secrets[log_nsecrets++] = copy;
	}
	pthread_mutex_unlock(&log_lock);
}

void pb_log_clear_secrets(void)
{
	pthread_mutex_lock(&log_lock);
	for (int i = 0; i < log_nsecrets; i++)
		free(log_secrets[i]);
	log_nsecrets = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Caller holds log_lock. Replaces each occurrence with "***" (shrinks, never grows). */
static void redact_locked(char *buf)
{
	for (int i = 0; i < log_nsecrets; i++) {
		size_t slen = strlen(log_secrets[i]);
		char *hit;

		while ((hit = strstr(buf, log_secrets[i])) != NULL) {
			memcpy(hit, "***", 3);
			memmove(hit + 3, hit + slen, strlen(hit + slen) + 1);
		}
	}
}

void pb_log_redact(char *buf, unsigned long size)
{
	if (!buf || !size)
		return;
	pthread_mutex_lock(&log_lock);
	redact_locked(buf);
	pthread_mutex_unlock(&log_lock);
}

void pb_log(pb_log_level level, const char *module, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[2048];
	char stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_lock);
	redact_locked(line);
	fprintf(stderr, "%s %s %s: %s\n", stamp, names[level], module ? module : "-", line);
	pthread_mutex_unlock(&log_lock);
}
