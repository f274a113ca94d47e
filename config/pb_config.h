/* pb_config.h — the configuration model (users, policy, components, adapters) and its loader. */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "pb_err.h"

/* Maturity stages, ordered: a component moves up one stage at a time. */
typedef enum {
	PB_STAGE_DEVELOPMENT = 0,
	PB_STAGE_STAGING = 1,
	PB_STAGE_PRODUCTION = 2,
	PB_STAGE_COUNT
} pb_stage;

const char *pb_stage_name(pb_stage s);        /* "development" … */
const char *pb_stage_title(pb_stage s);       /* "Development" … */
/* Case-insensitive; 0 ok, PB_E_INVALID when unknown. */
int pb_stage_parse(const char *s, pb_stage *out);

/* Roles are bits; admin implies every other role. */
enum {
	PB_ROLE_REQUESTER = 1u << 0,
	PB_ROLE_APPROVER = 1u << 1,
	PB_ROLE_DEPLOYER = 1u << 2,
	PB_ROLE_ADMIN = 1u << 3,
};
/* Writes "requester, approver" (or "none") into out. */
void pb_roles_fmt(unsigned roles, char *out, size_t size);

typedef struct pb_user {
	char *id;          /* chat user id: "alice" on the console, "U0123" on Slack */
	char *name;        /* display name */
	unsigned roles;
} pb_user;

/* Criteria a validation maps its checks to. */
typedef enum {
	PB_CRIT_TESTS = 0,
	PB_CRIT_COVERAGE,
	PB_CRIT_LINT,
	PB_CRIT_TYPES,
	PB_CRIT_SECURITY,
	PB_CRIT_COUNT
} pb_criterion;
const char *pb_criterion_name(pb_criterion c);
int pb_criterion_parse(const char *s, pb_criterion *out);

/* One local validation check: an argv run without a shell. */
typedef struct pb_check_cfg {
	char *name;
	pb_criterion criterion;
	char **argv;           /* NULL-terminated */
	size_t argc;
	int timeout_s;         /* default 300 */
	size_t max_output;     /* bytes kept of stdout+stderr, default 64 KiB */
	char *coverage_regex;  /* POSIX ERE; capture group 1 is the percentage */
} pb_check_cfg;

typedef struct pb_port_cfg {
	int container_port;
	int host_port;
	char *host_ip;         /* default "127.0.0.1" */
	char *proto;           /* "tcp" default */
} pb_port_cfg;

/* An environment variable for the container: a literal value, or taken from the
 * bot's environment / a file at deploy time (secrets). Exactly one source. */
typedef struct pb_envvar_cfg {
	char *name;
	char *value;
	char *value_env;
	char *value_file;
	bool secret;           /* true for value_env/value_file: never printed */
} pb_envvar_cfg;

typedef enum { PB_HEALTH_NONE = 0, PB_HEALTH_NEO4J, PB_HEALTH_HTTP, PB_HEALTH_TCP } pb_health_kind;

typedef struct pb_health_cfg {
	pb_health_kind kind;
	char *url;             /* neo4j/http: base URL, e.g. http://127.0.0.1:7476 */
	char *host;            /* tcp */
	int port;              /* tcp */
	char *user;            /* neo4j */
	char *password_env;    /* neo4j: env var holding the password */
	char *password_file;
	char *database;        /* neo4j, default "neo4j" */
	int expect_status;     /* http, default 200 */
	int timeout_ms;        /* per request, default 5000 */
	int queries;           /* neo4j: timed queries for p50/p95, default 20 */
} pb_health_cfg;

/* Container health check executed by the engine (Docker's Healthcheck). */
typedef struct pb_container_health_cfg {
	char **test;           /* e.g. ["CMD","wget","--spider","-q","http://localhost:7474"]; NULL = none */
	size_t ntest;
	int interval_s, timeout_s, retries, start_period_s;
} pb_container_health_cfg;

typedef enum { PB_PULL_MISSING = 0, PB_PULL_ALWAYS, PB_PULL_NEVER } pb_pull_policy;

/*
 * Observation monitoring: the global `monitoring` section, overridable per
 * component environment (environments.<stage>.monitoring, absent keys inherit).
 */
typedef struct pb_monitor_cfg {
	int interval_s;          /* check period, default 60 */
	int deadline_ms;         /* bound on one check, < interval; default min(10000, interval/2) */
	int stats_every;         /* resource usage every N checks, default 5 */
	int fail_threshold;      /* consecutive failures before DOWN, default 2 */
	int success_threshold;   /* consecutive successes before UP again, default 2 */
	int remind_every_min;    /* reminder while DOWN, default 30; 0 = never */
	char *mention;           /* optional group mention in alerts, e.g. "<!subteam^S0123>" */
	int report_hour;         /* report_time "09:00" (local) */
	int report_min;
	char *timezone;          /* IANA name, default "UTC" */
	int raw_retention_days;  /* raw samples kept, default 30 (daily rollups forever) */
	double min_coverage;     /* % of slots with a result needed for a verdict, default 99 */
	char *log_entry_regex;   /* a line matching starts a log entry; group 1 is its level */
	char **log_critical;     /* levels counted as critical, default ERROR, FATAL */
	size_t nlog_critical;
	char **log_warning;      /* levels counted as warnings, default WARN, WARNING */
	size_t nlog_warning;
} pb_monitor_cfg;

/* How a component is deployed to one environment (stage). */
typedef struct pb_deploy_cfg {
	pb_stage stage;
	bool present;
	bool external;         /* "deployment": "external": deployed by other tooling, promobot only
	                        * validates and watches it (no engine, no container; image etc. unset) */
	char *image;           /* "neo4j:5.13"; NULL when external */
	char *container_name;  /* NULL when external */
	pb_pull_policy pull;
	pb_port_cfg *ports;
	size_t nports;
	pb_envvar_cfg *env;
	size_t nenv;
	char **volumes;        /* Binds "src:dst[:ro]" */
	size_t nvolumes;
	char **cmd;            /* optional Cmd override */
	size_t ncmd;
	char *network_mode;    /* "host" in tests; default bridge */
	char *restart_policy;  /* default "unless-stopped" */
	pb_container_health_cfg container_health;
	pb_health_cfg health;  /* post-deployment validation */
	int healthy_timeout_s; /* wait for running/healthy, default 120 */
	pb_monitor_cfg monitoring; /* the global section with this environment's overrides */
	char *environment_url; /* shown on GitHub deployment statuses; optional */
} pb_deploy_cfg;

/* Where a validation's results come from (components[].validation.source, combinable). */
enum {
	PB_VSRC_LOCAL = 1u << 0,           /* the component's checks[] run here */
	PB_VSRC_GITHUB_CHECKS = 1u << 1,   /* check runs + commit statuses of a ref's commit */
	PB_VSRC_GITHUB_WORKFLOW = 1u << 2, /* the repository's validation workflow */
};
typedef enum { PB_WF_ISSUE = 0, PB_WF_DISPATCH } pb_wf_mode;

/* components[].validation: the sources and how GitHub's answers map to criteria. */
typedef struct pb_validation_cfg {
	unsigned sources;      /* PB_VSRC_* bits, default LOCAL */
	char *ref;             /* github_checks: "heads/main" (default) or "tags/v1" */
	char **patterns[PB_CRIT_COUNT]; /* per criterion: exact names or fnmatch globs */
	size_t npatterns[PB_CRIT_COUNT];
	int timeout_s;         /* bound on waiting for pending checks / the run, default 1800 */
	int poll_s;            /* poll period, default 15 */
	pb_wf_mode wf_mode;    /* workflow.mode, default issue */
	char *wf_file;         /* workflow.file, default component-promotion-validation.yml */
	char *wf_ref;          /* workflow.ref (dispatch), default main */
	char **wf_input_names; /* workflow.inputs: string values only (GitHub passes strings) */
	char **wf_input_values;
	size_t wf_ninputs;
} pb_validation_cfg;

typedef struct pb_component {
	char *id;              /* "neo4j": what users type */
	char *name;            /* "Neo4j Graph Database" */
	char *group;           /* functional group, "Core Infrastructure" */
	char **deps;           /* component ids */
	size_t ndeps;
	pb_stage initial_stage;  /* seeds storage the first time; storage is then the truth */
	char *maturity_path;
	char *workdir;         /* checks run here; relative to the config file's folder */
	char **revision_argv;  /* command printing the revision (e.g. git rev-parse HEAD) */
	char *revision_value;  /* or a fixed version string */
	pb_check_cfg *checks;
	size_t nchecks;
	pb_deploy_cfg deploy[PB_STAGE_COUNT]; /* indexed by target stage */
	char *github_repo;     /* "owner/repo" for issues; optional */
	pb_validation_cfg validation;
	char *github_maturity_path; /* MATURITY.md inside github_repo ("docs/…/MATURITY.md"); NULL = no commit */
} pb_component;

typedef struct pb_policy {
	int required_approvals;            /* default 1 */
	bool self_approval;                /* default false */
	int coverage_min[PB_STAGE_COUNT];  /* staging 70, production 80 */
	int observation_days;              /* default 7 */
	double uptime_target;              /* default 99.5 */
	bool required[PB_CRIT_COUNT];      /* criteria that must pass; default all */
} pb_policy;

typedef struct pb_slack_cfg {
	char *api_url;         /* default https://slack.com/api/ */
	char *app_token_env;   /* default SLACK_APP_TOKEN */
	char *bot_token_env;   /* default SLACK_BOT_TOKEN */
	char *channel;
	char *ca_file;         /* optional CA bundle; default: system store */
	int min_post_interval_ms; /* pacing between chat.postMessage calls, default 1000 */
} pb_slack_cfg;

/* github.maturity: how a completion commits MATURITY.md. */
typedef struct pb_github_maturity_cfg {
	bool via_pull_request; /* branch + pull request instead of the default branch; default false */
	char *branch_prefix;   /* default "promobot/maturity-"; the branch is <prefix><component>-<promotion id> */
} pb_github_maturity_cfg;

/* github.project: the Project (v2) board a completion updates; off while id is NULL. */
typedef struct pb_github_project_cfg {
	char *id;                  /* ProjectV2 node id ("PVT_kw…") */
	char *status_field;        /* default "Status" (single select) */
	char *stage_options[PB_STAGE_COUNT]; /* option names, matched exactly: "🧪 Staging" … */
	char *current_stage_field; /* default "Current Stage" (text or single select) */
	char *last_updated_field;  /* default "Last Updated" (date or text) */
} pb_github_project_cfg;

/* The GitHub client (issue 8); off unless a `github` section is configured. */
typedef struct pb_github_cfg {
	bool enabled;          /* a github section was configured */
	char *api_url;         /* default https://api.github.com (no trailing '/'); GHE https://HOST/api/v3 */
	char *token_env;       /* PAT from an environment variable … */
	char *token_file;      /* … or a file; or the App below (exactly one) */
	bool app;              /* authenticate as a GitHub App installation */
	int64_t app_id;
	char *private_key_file; /* the App's PEM private key (absolute after load) */
	int64_t installation_id;
	int timeout_ms;        /* per request, default 30000 */
	char *ca_file;         /* optional CA bundle; default: system store */
	char *user_agent;      /* default "promobot/<version>" */
	int content_writes_per_min; /* POST/PUT/PATCH/DELETE budget, default 80 */
	pb_github_maturity_cfg maturity;
	pb_github_project_cfg project;
	int poll_interval_s;   /* reading GitHub back (blocker issues, drift), default 60 */
} pb_github_cfg;

typedef struct pb_docker_cfg {
	char *host;            /* unix:///var/run/docker.sock (default) or tcp://h:p; DOCKER_HOST overrides */
	int timeout_s;         /* per API call, default 60 */
} pb_docker_cfg;

/* The admin HTTP listener (/healthz, /metrics); off unless http.listen is set. */
typedef struct pb_http_cfg {
	char *listen_host;     /* "127.0.0.1"; NULL = off */
	int listen_port;       /* 1..65535 (0 only in tests: any free port) */
	int health_write_s;    /* storage must answer a write within this, default 5 */
} pb_http_cfg;

/* The bot's own clock: what it does without being asked. */
typedef struct pb_schedule_cfg {
	int check_interval_s;  /* how often the observation planner sweeps (due checks, reports), default 1 */
	int probe_interval_s;  /* storage health probe period, default 10 */
} pb_schedule_cfg;

/* More than one replica on one database: lease lengths (README "Running more than one replica"). */
typedef struct pb_ha_cfg {
	int lease_s;           /* component leases (a deploy renews its own), default 30, >= 5 */
	int leader_lease_s;    /* the scheduler leader's lease, renewed every third of it, default 15, >= 3 */
} pb_ha_cfg;

typedef struct pb_config {
	char *path;            /* the file it was loaded from */
	char *base_dir;        /* its folder: relative paths resolve against it */
	char *storage_path;    /* the SQLite file, absolute after load; NULL on PostgreSQL */
	char *storage_url;     /* what the store opens: storage_path, or a postgres(ql):// URI (no password) */
	char *storage_password_env;  /* PostgreSQL password from this env var, or NULL */
	char *storage_password_file; /* … or from this file, or NULL (libpq's own .pgpass/service otherwise) */
	char *platform;        /* "console" | "slack" */
	pb_slack_cfg slack;
	pb_github_cfg github;
	pb_docker_cfg docker;
	bool docker_enabled;   /* an engine section was configured */
	int workers;           /* worker threads, default 4 */
	int worker_nice;       /* nice of command/background/poster threads (0..19), default 19 */
	bool worker_idle;      /* those threads under SCHED_IDLE instead (worker_nice then moot), default false */
	int worker_cpus;       /* command jobs on the CPU at once (0: no cap); -1 (default): pb_config_worker_cpus */
	bool worker_pin;       /* lanes < CPUs: their threads only on the last worker_cpus CPUs (lanes.h), default true */
	pb_http_cfg http;
	pb_schedule_cfg schedule;
	pb_ha_cfg ha;
	pb_monitor_cfg monitoring; /* global defaults; each deploy_cfg holds its resolved copy */
	pb_user *users;
	size_t nusers;
	pb_policy policy;
	pb_component *components;
	size_t ncomponents;
	const pb_component **by_id; /* the components sorted by id: lookups bisect (the monitor asks per check) */
} pb_config;

/* A list of "json.path: problem" strings collected by validation. */
typedef struct pb_problems {
	char **items;
	size_t count;
} pb_problems;

void pb_problems_add(pb_problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pb_problems_deinit(pb_problems *p);

/*
 * Loads and validates `path`. On success returns 0 and *out owns a config.
 * On invalid content returns PB_E_INVALID with every problem in `probs`
 * ("components[0].environments.staging.image: missing"); on I/O failure
 * returns <0 (or PB_E_INVALID with a "file: …" problem). *out is NULL then.
 */
int pb_config_load(const char *path, pb_config **out, pb_problems *probs);
/* Same from a JSON string; base_dir resolves relative paths (may be "."). */
int pb_config_parse(const char *json, size_t len, const char *base_dir,
		    pb_config **out, pb_problems *probs);
void pb_config_free(pb_config *cfg);

const pb_user *pb_config_user(const pb_config *cfg, const char *id);
/*
 * CPU lanes of the command pool: worker_cpus when set, else the CPUs this
 * process may run on minus one (at least one), the one left over being the
 * event loop's — its acks then find a CPU without waiting for a reply's work.
 */
int pb_config_worker_cpus(const pb_config *cfg);
const pb_component *pb_config_component(const pb_config *cfg, const char *id);
/* Deploy settings of a component for a stage, or NULL when not configured. */
const pb_deploy_cfg *pb_config_deploy(const pb_component *c, pb_stage stage);

/*
 * Reads a secret named by *_env / *_file: exactly one of env/file non-NULL.
 * Returns a malloc'd string (trailing newline stripped) or NULL with err set.
 * The value is registered with the log redactor.
 */
char *pb_secret_read(const char *env_name, const char *file_path, pb_err *err);

#endif
