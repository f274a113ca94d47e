/* monitor_priv.h — what the monitor's files share: the per-promotion cache and the outbox helpers. */
#ifndef PB_MONITOR_PRIV_H
#define PB_MONITOR_PRIV_H

#include <pthread.h>

#include "docker.h"
#include "pb_logscan.h"
#include "pb_monitor.h"
#include "pb_tz.h"
#include "probe.h"

/* Cache of one observed promotion; objects are used only by the thread whose check is in flight. */
typedef struct mon_entry {
	int64_t promotion_id;
	bool inflight;
	bool seen;               /* still observing at the last sweep */
	int64_t planned;         /* newest slot planned (submitted or skipped) */
	int64_t report_day;      /* the first local day whose report may still be due; 0 = not read yet */
	bool verdict_done;
	pb_probe *probe;
	pb_docker *docker;
	pb_logscan *logscan;
} mon_entry;

#define MON_MAX_ZONES 8

/* A post handed to the chat by this process, waiting for its confirmation. */
typedef struct mon_handed {
	int64_t post_id;
	int64_t at;              /* when handed (services' clock) */
	int64_t retry_at;        /* 0 while waiting; else the chat gave it up: hand it again from then */
} mon_handed;

struct pb_monitor {
	const pb_config *cfg;
	pthread_mutex_t lock;    /* entries, zones */
	mon_entry **entries;     /* pointers: an entry never moves while its check runs */
	size_t nentries, cap;
	pthread_mutex_t deliver_lock; /* one deliverer at a time: a pending post is handed out once */
	pb_acks *acks;           /* the chat's delivery confirmations, taken by the deliverer */
	struct mon_handed *handed; /* posts handed in this process and not confirmed (deliver_lock) */
	size_t nhanded, caphanded;
	pb_tz *zones[MON_MAX_ZONES];
	size_t nzones;
	int64_t last_prune;
};

/* The monitoring settings for a promotion: its environment's, else the global section. */
const pb_monitor_cfg *mon_cfg(const pb_config *cfg, const pb_promotion *p);
/* The deploy settings of the promotion's target, or NULL. */
const pb_deploy_cfg *mon_deploy(const pb_config *cfg, const pb_promotion *p);
/* The zone of mc (cached, shared, never freed before the monitor); NULL with err when unknown. */
const pb_tz *mon_zone(pb_monitor *m, const pb_monitor_cfg *mc, pb_err *err);
/* The first instant after the observation period. */
int64_t mon_obs_end(const pb_config *cfg, const pb_promotion *p);

/* Claims due daily reports and the verdict of one promotion (monitor_report.c). */
int mon_reports_due(pb_monitor *m, const pb_services *svc, const pb_promotion *p, mon_entry *snapshot,
		    pb_monitor_sweep_stats *stats, pb_err *err);
/* Runs the check itself (monitor_check.c); e is the promotion's entry (in flight, so ours). */
int mon_check_run(pb_monitor *m, const pb_services *svc, mon_entry *e, int64_t slot, pb_err *err);

/* "title\nbody" texts of the outbox; kinds as in pb_store_obs_post_add. */
#define MON_POST_REPORT "report"
#define MON_POST_VERDICT "verdict"

#endif
