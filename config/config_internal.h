/* config_internal.h — helpers shared by the config loader's files (not part of the module API). */
#ifndef PB_CONFIG_INTERNAL_H
#define PB_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "pb_config.h"

/* JSON paths are short in practice; longer ones are truncated in messages only. */
#define CFG_PATH_MAX 256

/* State of one parse: where problems go and what relative paths resolve against. */
typedef struct cfg_ctx {
	pb_problems *probs;
	const char *base_dir;   /* absolute */
	int oom;                /* an allocation failed: the result is unusable */
	const pb_monitor_cfg *monitoring; /* the global section, once parsed */
	const pb_github_cfg *github;      /* the github section, once parsed */
} cfg_ctx;

/* "parent.key" (or "key" at the root) and "parent[i]". */
void cfg_path_key(char *out, size_t size, const char *parent, const char *key);
void cfg_path_index(char *out, size_t size, const char *parent, size_t i);

/* Reports every member of obj whose name is not in the NULL-terminated `allowed`
 * list as "<path>.<key>: unknown key", and repeated names as "duplicate key". */
void cfg_check_keys(cfg_ctx *c, const cJSON *obj, const char *path,
		    const char *const *allowed);

/*
 * Typed getters. Each looks `key` up in `obj` (an object at `path`). An absent
 * member or JSON null takes the default (or reports "missing" when required);
 * a wrong type reports "expected <type>". They return true when the member
 * was present and valid. String results are malloc'd (NULL when absent and no
 * default); running out of memory sets c->oom.
 */
bool cfg_get_str(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		 bool required, const char *def, char **out);
bool cfg_get_int(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		 bool required, long def, long min, long max, int *out);
bool cfg_get_size(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		  size_t def, size_t min, size_t max, size_t *out);
bool cfg_get_double(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		    double def, double min, double max, double *out);
bool cfg_get_bool(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		  bool def, bool *out);
/* Array of strings; the result is NULL-terminated (an empty array gives a
 * one-slot array holding NULL) unless the member is absent (then NULL/0). */
bool cfg_get_strv(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		  bool required, char ***out, size_t *n);
/* The member when it is an object; NULL when absent/null (reporting "missing"
 * when required) or of another type ("expected object"). */
const cJSON *cfg_get_obj(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
			 bool required);
/* Same for arrays. */
const cJSON *cfg_get_arr(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
			 bool required);

/* A path from the config made absolute against base_dir and lexically
 * normalised ("a/../b" → "b"). malloc'd; NULL when p is NULL or on OOM. */
char *cfg_resolve_path(const char *base_dir, const char *p);

/* Replaces *field (when set) with cfg_resolve_path(c->base_dir, *field); OOM sets c->oom. */
void cfg_resolve_field(cfg_ctx *c, char **field);

/* strdup that records OOM in the context. */
char *cfg_strdup(cfg_ctx *c, const char *s);

void cfg_strv_free(char **v, size_t n);

/* Reads the `monitoring` object at `path` in obj (absent = all of base, or the
 * defaults when base is NULL) into out (config_monitoring.c). */
void cfg_parse_monitoring(cfg_ctx *c, const cJSON *obj, const char *path, const pb_monitor_cfg *base,
			  pb_monitor_cfg *out);
void cfg_monitoring_free(pb_monitor_cfg *m);

/* Reads the optional `github` section (config_github.c). */
void cfg_parse_github(cfg_ctx *c, const cJSON *root, pb_config *cfg);
void cfg_github_free(pb_github_cfg *g);
/* True when s is a GitHub "owner/name" (owner [A-Za-z0-9-]{1,39}, name [A-Za-z0-9._-]{1,100}). */
bool cfg_github_repo_valid(const char *s);

/* Reads components[].validation (config_validation.c); needs c->github. */
void cfg_parse_component_validation(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp);
void cfg_validation_free(pb_validation_cfg *v);

/* Reads the component list into cfg (config_components.c). */
void cfg_parse_components(cfg_ctx *c, const cJSON *root, pb_config *cfg);
/* Cross-component checks: duplicates, unknown/self dependencies, cycles (config_validate.c). */
void cfg_validate_components(cfg_ctx *c, const pb_config *cfg);

#endif
