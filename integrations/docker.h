/* docker.h — Docker Engine API client (unix:// or tcp://, API version negotiated via /_ping). */
#ifndef PB_DOCKER_H
#define PB_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_config.h"
#include "pb_err.h"
#include "pb_str.h"

/*
 * One pb_docker per thread (it owns a pb_http). Every failing call returns
 * PB_E_UNAVAILABLE when the engine could not be reached (err names the host),
 * PB_E_NOTFOUND on 404, PB_E_CONFLICT on 409, PB_E_FAILED for other engine
 * errors; err then holds "<what>: <engine message> (HTTP <status>)".
 */
typedef struct pb_docker pb_docker;

#define PB_DOCKER_API_MAX "1.41"
#define PB_DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"

/* host: NULL = default; $DOCKER_HOST overrides it. timeout_ms per call (0 = 60 s).
 * Does not contact the engine. PB_E_INVALID for an unsupported host scheme. */
int pb_docker_new(const char *host, long timeout_ms, pb_docker **out, pb_err *err);
void pb_docker_free(pb_docker *d);
/* The host in use ("unix:///run/docker.sock"), for messages. */
const char *pb_docker_host(const pb_docker *d);

/* GET /_ping; negotiates min(ours, engine's API-Version). Later calls ping on demand. */
int pb_docker_ping(pb_docker *d, pb_err *err);
/* Negotiated API version ("1.41"); "" before the first successful ping. */
const char *pb_docker_api_version(const pb_docker *d);
/* True when the last ping was answered by podman's compatible API (Libpod-Api-Version header). */
bool pb_docker_is_podman(const pb_docker *d);
/* GET /version → engine version string ("20.10.24"). */
int pb_docker_version(pb_docker *d, char *out, size_t size, pb_err *err);

/* ---- images ---- */
/* Image id (sha256:…) of a local image, PB_E_NOTFOUND when absent. */
int pb_docker_image_inspect(pb_docker *d, const char *ref, char *id, size_t size, pb_err *err);

typedef struct pb_docker_pull_stats {
	int lines;                 /* progress lines received */
	int layers;                /* distinct layer ids seen */
	int layers_done;           /* "Pull complete" / "Already exists" */
	char last_status[256];     /* final "Status: …" line */
	char digest[128];          /* "sha256:…" when reported */
} pb_docker_pull_stats;

/* Called for each progress line with its "status" and layer "id" (may be ""). */
typedef void (*pb_docker_progress_fn)(void *ud, const char *status, const char *id);

/*
 * POST /images/create?fromImage=…&tag=… (tag defaults to "latest"). The NDJSON
 * stream is scanned line by line: an "error" line fails the pull even with
 * HTTP 200 (PB_E_FAILED, err carries the engine's message). stats/progress optional.
 */
int pb_docker_image_pull(pb_docker *d, const char *ref, pb_docker_pull_stats *stats,
			 pb_docker_progress_fn progress, void *ud, pb_err *err);
/* POST /images/create?fromSrc=-&repo=…&tag=… with a tarball body (a root filesystem). */
int pb_docker_image_import(pb_docker *d, const void *tar, size_t len, const char *repo,
			   const char *tag, pb_err *err);
/* POST /images/{ref}/tag?repo=…&tag=… */
int pb_docker_image_tag(pb_docker *d, const char *ref, const char *repo, const char *tag, pb_err *err);
/* POST /images/{name}/push?tag=… with an empty X-Registry-Auth; stream scanned like pull. */
int pb_docker_image_push(pb_docker *d, const char *name, const char *tag, pb_err *err);
/* DELETE /images/{ref}?force=… ; PB_E_NOTFOUND when absent. */
int pb_docker_image_remove(pb_docker *d, const char *ref, bool force, pb_err *err);

/* Splits "reg:5000/name:tag" / "name@sha256:…" into repository and tag ("latest" default). */
int pb_docker_ref_split(const char *ref, char *repo, size_t rsize, char *tag, size_t tsize);

/* ---- containers ---- */
typedef struct pb_docker_port {
	char ip[64];
	int private_port;
	int public_port;           /* 0 = not published */
	char type[8];              /* "tcp" */
} pb_docker_port;

typedef struct pb_docker_container {
	char id[80];
	char name[128];            /* without the leading '/' */
	char image[256];
	char state[32];            /* "running", "exited", "created" … */
	char network_mode[64];
	pb_docker_port ports[16];
	size_t nports;
} pb_docker_container;

/*
 * GET /containers/json?all=…&filters={"label":[…]} (filters built with cJSON,
 * URL-encoded). labels: "key=value" or "key" strings, may be NULL. Caller frees *out.
 */
int pb_docker_container_list(pb_docker *d, bool all, const char *const *labels, size_t nlabels,
			     pb_docker_container **out, size_t *count, pb_err *err);

typedef struct pb_docker_create {
	const char *name;
	const char *image;
	const char *const *env;        /* "K=v"; values may be secrets: never logged */
	size_t nenv;
	const char *const *cmd;
	size_t ncmd;
	const char *const *label_keys;
	const char *const *label_values;
	size_t nlabels;
	const pb_port_cfg *ports;
	size_t nports;
	const char *const *binds;      /* "src:dst[:ro]" */
	size_t nbinds;
	const char *restart_policy;    /* NULL = "no" */
	const char *network_mode;      /* NULL = engine default */
	const pb_container_health_cfg *health; /* NULL or test==NULL = none */
} pb_docker_create;

/* POST /containers/create?name=… → id (64 hex). PB_E_CONFLICT when the name is taken. */
int pb_docker_container_create(pb_docker *d, const pb_docker_create *spec, char *id, size_t size,
			       pb_err *err);
/* Start/stop treat 304 (already in that state) as success. */
int pb_docker_container_start(pb_docker *d, const char *id, pb_err *err);
int pb_docker_container_stop(pb_docker *d, const char *id, int timeout_s, pb_err *err);
int pb_docker_container_rename(pb_docker *d, const char *id, const char *new_name, pb_err *err);
/* DELETE /containers/{id}?force=true&v=true; PB_E_NOTFOUND when absent. */
int pb_docker_container_remove(pb_docker *d, const char *id, pb_err *err);

typedef struct pb_docker_state {
	char id[80];
	char name[128];
	char image_id[128];
	char status[32];           /* created|running|paused|restarting|removing|exited|dead */
	bool running;
	char health[16];           /* starting|healthy|unhealthy; "" without a healthcheck */
	char health_output[512];   /* output of the latest health probe */
	int restart_count;
	bool oom_killed;           /* State.OOMKilled */
	int exit_code;
	int pid;                   /* host pid of the main process, 0 when not running */
	bool tty;
	char started_at[64];
	char error[256];           /* State.Error */
} pb_docker_state;

/* GET /containers/{id}/json; PB_E_NOTFOUND when absent. */
int pb_docker_container_inspect(pb_docker *d, const char *id, pb_docker_state *st, pb_err *err);

/*
 * GET /containers/{id}/logs?stdout=1&stderr=1&tail=N; the multiplexed stream
 * is demultiplexed (unless tty) and both streams are appended to out in order.
 */
int pb_docker_container_logs(pb_docker *d, const char *id, bool tty, int tail, pb_buf *out,
			     pb_err *err);

/*
 * Logs written after since_ms (epoch ms; 0 = all), with timestamps=1: each
 * line of out starts with the engine's RFC 3339 timestamp and a space, so
 * the caller can resume exactly where it stopped (the engine's `since` is
 * inclusive: lines at since_ms itself come again and must be skipped).
 * At most max_bytes are kept (older lines first; the rest is cut).
 */
int pb_docker_container_logs_since(pb_docker *d, const char *id, bool tty, int64_t since_ms, size_t max_bytes,
				   pb_buf *out, pb_err *err);
/* The epoch ms of an engine timestamp ("2026-11-25T10:20:19.857768126Z", StartedAt); false when malformed. */
bool pb_docker_time_ms(const char *rfc3339, int64_t *ms);
/* The epoch ms of a log line's leading timestamp ("2026-11-25T10:20:19.857768126Z …"); false if none. */
bool pb_docker_log_line_time(const char *line, size_t len, int64_t *ms, size_t *prefix_len);

/* Incremental decoder of the 8-byte framed log stream; frames may split anywhere. */
typedef void (*pb_docker_frame_fn)(void *ud, int stream, const char *data, size_t len);
typedef struct pb_docker_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t remaining;        /* payload bytes left in the current frame */
	int stream;                /* 0 stdin, 1 stdout, 2 stderr */
} pb_docker_demux;
void pb_docker_demux_init(pb_docker_demux *m);
/* Feeds bytes; calls fn for each payload piece. PB_E_INVALID on a bad stream type. */
int pb_docker_demux_feed(pb_docker_demux *m, const char *data, size_t len, pb_docker_frame_fn fn,
			 void *ud);

typedef struct pb_docker_stats {
	double cpu_percent;        /* as `docker stats` computes it */
	uint64_t mem_used;         /* usage minus inactive file cache */
	uint64_t mem_limit;
	double mem_percent;
} pb_docker_stats;

/* GET /containers/{id}/stats?stream=false */
int pb_docker_container_stats(pb_docker *d, const char *id, pb_docker_stats *out, pb_err *err);
/*
 * Computes the figures from a stats JSON document (cgroup v1 or v2). PB_E_INVALID if
 * unparsable or when a counter is negative, fractional or not below 2^64 (then err says which).
 */
int pb_docker_stats_parse(const char *json, size_t len, pb_docker_stats *out);
int pb_docker_stats_parse_err(const char *json, size_t len, pb_docker_stats *out, pb_err *err);

/* ---- events (docker_events.c parses, docker.c asks) ---- */

/*
 * One line of GET /events: {Type, Action, Actor{ID, Attributes}, time, timeNano}.
 * dockerd's "health_status: unhealthy" is split into action "health_status" and
 * health "unhealthy"; podman (4.x) sends a bare "health_status" without the
 * status (health stays ""): the caller asks inspect for the health then.
 */
typedef struct pb_docker_event {
	char type[16];             /* "container", "image", … */
	char action[48];           /* "die", "oom", "restart", "start", "health_status", … (truncated) */
	char health[16];           /* health_status only: "healthy" / "unhealthy" / "" when not said */
	char id[80];               /* Actor.ID */
	char name[128];            /* Actor.Attributes.name */
	int exit_code;             /* die: Actor.Attributes.exitCode (0..255); -1 when absent or bad */
	int64_t time_ns;           /* timeNano, else time * 1e9 */
} pb_docker_event;

/* Parses one event line. PB_E_INVALID when it is not an event object, a number is out of
 * range (time before 2000 or after 2200, exit code outside 0..255), a required key is missing
 * or the action is empty (also "" before a ':'). */
int pb_docker_event_parse(const char *line, size_t len, pb_docker_event *out);

typedef void (*pb_docker_event_fn)(void *ud, const pb_docker_event *ev);

#define PB_DOCKER_EVENT_LINE_MAX 65536u  /* a longer line is skipped whole and counted */

/*
 * Splits an event stream into lines as it arrives (a line may be split
 * across reads anywhere) and calls fn for each event. Malformed lines and
 * lines over PB_DOCKER_EVENT_LINE_MAX are skipped and counted, never fatal.
 */
typedef struct pb_docker_event_reader {
	pb_buf line;
	bool skipping;             /* inside an oversized line: drop until its newline */
	size_t events, malformed, oversized;
	pb_docker_event_fn fn;
	void *ud;
} pb_docker_event_reader;

void pb_docker_event_reader_init(pb_docker_event_reader *r, pb_docker_event_fn fn, void *ud);
/* Feeds bytes; -ENOMEM when a line could not be buffered. */
int pb_docker_event_reader_feed(pb_docker_event_reader *r, const char *data, size_t len);
/* The stream ended: a last line without a newline still counts. */
void pb_docker_event_reader_finish(pb_docker_event_reader *r);
void pb_docker_event_reader_deinit(pb_docker_event_reader *r);

typedef struct pb_docker_events_window {
	size_t received;           /* events in the window delivered to fn */
	size_t duplicates;         /* lines repeating an event already delivered (same time, action, id) */
	size_t malformed, oversized;
	bool truncated;            /* the read stopped at PB_DOCKER_EVENTS_MAX: *cursor_ns is the last one read */
} pb_docker_events_window;

#define PB_DOCKER_EVENTS_MAX 4096

/*
 * The container's events after *cursor_ns up to one second ago, as a
 * bounded query that the engine answers and closes (no stream to keep or
 * reconnect): dockerd gets since=…&until=…; podman (4.x) ends a query with
 * `until` after its first event, so it gets stream=false and the window's
 * end is applied here. Events with time_ns <= *cursor_ns (since is whole
 * seconds and inclusive) and repeats of one already delivered are dropped,
 * so consecutive windows neither lose nor repeat an event. On success
 * *cursor_ns moves to the window's end (or to the last event read when
 * truncated); the caller stores it with what it decided from the events.
 * *cursor_ns <= 0 starts following now: nothing delivered, the cursor set.
 * The window uses the host's wall clock, the engine's clock domain.
 * win may be NULL. On failure the cursor is unchanged.
 */
int pb_docker_events_read(pb_docker *d, const char *container_id, int64_t *cursor_ns, pb_docker_event_fn fn,
			  void *ud, pb_docker_events_window *win, pb_err *err);

#endif
