/* config_json.c — typed, path-reporting accessors over cJSON used by the config loader. */
#include "config_internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_path_key(char *out, size_t size, const char *parent, const char *key)
{
	if (parent && parent[0])
		snprintf(out, size, "%s.%s", parent, key);
	else
		snprintf(out, size, "%s", key);
}

void cfg_path_index(char *out, size_t size, const char *parent, size_t i)
{
	snprintf(out, size, "%s[%zu]", parent, i);
}

char *cfg_strdup(cfg_ctx *c, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		c->oom = 1;
	return d;
}

void cfg_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool key_allowed(const char *key, const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(key, allowed[i]) == 0)
			return true;
	return false;
}

void cfg_check_keys(cfg_ctx *c, const cJSON *obj, const char *path,
		    const char *const *allowed)
{
	const cJSON *it, *prev;
	char p[CFG_PATH_MAX];

	if (!cJSON_IsObject(obj))
		return;
	cJSON_ArrayForEach(it, obj) {
		const char *key = it->string ? it->string : "";

		cfg_path_key(p, sizeof(p), path, key);
		if (!key_allowed(key, allowed)) {
			pb_problems_add(c->probs, "%s: unknown key", p);
			continue;
		}
		/* cJSON keeps both copies of a repeated key and we would silently
		 * read the first: a typo-level mistake worth reporting. */
		for (prev = obj->child; prev && prev != it; prev = prev->next) {
			if (prev->string && strcmp(prev->string, key) == 0) {
				pb_problems_add(c->probs, "%s: duplicate key", p);
				break;
			}
		}
	}
}

/* Looks the member up; NULL for absent or JSON null (both mean "use the default"). */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *v;

	if (!cJSON_IsObject(obj))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v || cJSON_IsNull(v))
		return NULL;
	return v;
}

static void report_missing(cfg_ctx *c, const char *path, const char *key)
{
	char p[CFG_PATH_MAX];

	cfg_path_key(p, sizeof(p), path, key);
	pb_problems_add(c->probs, "%s: missing", p);
}

static void report_type(cfg_ctx *c, const char *path, const char *key, const char *type)
{
	char p[CFG_PATH_MAX];

	cfg_path_key(p, sizeof(p), path, key);
	pb_problems_add(c->probs, "%s: expected %s", p, type);
}

bool cfg_get_str(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		 bool required, const char *def, char **out)
{
	const cJSON *v = member(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			report_missing(c, path, key);
		else
			*out = cfg_strdup(c, def);
		return false;
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		report_type(c, path, key, "string");
		*out = required ? NULL : cfg_strdup(c, def);
		return false;
	}
	if (!v->valuestring[0] && required) {
		char p[CFG_PATH_MAX];

		cfg_path_key(p, sizeof(p), path, key);
		pb_problems_add(c->probs, "%s: must not be empty", p);
		return false;
	}
	*out = cfg_strdup(c, v->valuestring);
	return *out != NULL;
}

static void report_range(cfg_ctx *c, const char *path, const char *key,
			 double min, double max, bool integer)
{
	char p[CFG_PATH_MAX];

	cfg_path_key(p, sizeof(p), path, key);
	if (integer && max >= (double)INT_MAX)
		pb_problems_add(c->probs, "%s: must be at least %.0f", p, min);
	else if (integer)
		pb_problems_add(c->probs, "%s: must be %.0f..%.0f", p, min, max);
	else
		pb_problems_add(c->probs, "%s: must be %g..%g", p, min, max);
}

/* Shared by the integer getters: a JSON number that is whole and within range. */
static bool get_whole(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		      bool required, double min, double max, double *out)
{
	const cJSON *v = member(obj, key);
	double d;

	if (!v) {
		if (required)
			report_missing(c, path, key);
		return false;
	}
	if (!cJSON_IsNumber(v)) {
		report_type(c, path, key, "integer");
		return false;
	}
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d)) {
		report_type(c, path, key, "integer");
		return false;
	}
	if (d < min || d > max) {
		report_range(c, path, key, min, max, true);
		return false;
	}
	*out = d;
	return true;
}

bool cfg_get_int(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		 bool required, long def, long min, long max, int *out)
{
	double d;

	*out = (int)def;
	if (max > INT_MAX)
		max = INT_MAX;
	if (!get_whole(c, obj, path, key, required, (double)min, (double)max, &d))
		return false;
	*out = (int)d;
	return true;
}

bool cfg_get_size(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		  size_t def, size_t min, size_t max, size_t *out)
{
	double d;

	*out = def;
	if (!get_whole(c, obj, path, key, false, (double)min, (double)max, &d))
		return false;
	*out = (size_t)d;
	return true;
}

bool cfg_get_double(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		    double def, double min, double max, double *out)
{
	const cJSON *v = member(obj, key);

	*out = def;
	if (!v)
		return false;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		report_type(c, path, key, "number");
		return false;
	}
	if (v->valuedouble < min || v->valuedouble > max) {
		report_range(c, path, key, min, max, false);
		return false;
	}
	*out = v->valuedouble;
	return true;
}

bool cfg_get_bool(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		  bool def, bool *out)
{
	const cJSON *v = member(obj, key);

	*out = def;
	if (!v)
		return false;
	if (!cJSON_IsBool(v)) {
		report_type(c, path, key, "boolean");
		return false;
	}
	*out = cJSON_IsTrue(v);
	return true;
}

bool cfg_get_strv(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
		  bool required, char ***out, size_t *n)
{
	const cJSON *arr = cfg_get_arr(c, obj, path, key, required);
	const cJSON *it;
	char p[CFG_PATH_MAX], ip[CFG_PATH_MAX];
	size_t count, i = 0;
	bool ok = true;
	char **v;

	*out = NULL;
	*n = 0;
	if (!arr)
		return false;
	cfg_path_key(p, sizeof(p), path, key);
	count = (size_t)cJSON_GetArraySize(arr);
	v = calloc(count + 1, sizeof(*v));
	if (!v) {
		c->oom = 1;
		return false;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !it->valuestring) {
			cfg_path_index(ip, sizeof(ip), p, i);
			pb_problems_add(c->probs, "%s: expected string", ip);
			ok = false;
			continue;
		}
		v[i] = cfg_strdup(c, it->valuestring);
		if (!v[i])
			break;
		i++;
	}
	*out = v;
	*n = i;
	return ok && !c->oom;
}

static const cJSON *get_typed(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
			      bool required, bool want_object)
{
	const cJSON *v = member(obj, key);

	if (!v) {
		if (required)
			report_missing(c, path, key);
		return NULL;
	}
	if (want_object ? !cJSON_IsObject(v) : !cJSON_IsArray(v)) {
		report_type(c, path, key, want_object ? "object" : "array");
		return NULL;
	}
	return v;
}

const cJSON *cfg_get_obj(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
			 bool required)
{
	return get_typed(c, obj, path, key, required, true);
}

const cJSON *cfg_get_arr(cfg_ctx *c, const cJSON *obj, const char *path, const char *key,
			 bool required)
{
	return get_typed(c, obj, path, key, required, false);
}

/* Drops "." and empty segments and folds ".." in place; `s` is absolute. */
static void normalise_abs(char *s)
{
	char *out = s, *in = s;

	while (*in) {
		char *seg;
		size_t len;

		while (*in == '/')
			in++;
		seg = in;
		while (*in && *in != '/')
			in++;
		len = (size_t)(in - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > s && *(out - 1) != '/')
				out--;
			if (out > s)
				out--; /* the slash before the dropped segment */
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == s)
		*out++ = '/';
	*out = '\0';
}

char *cfg_resolve_path(const char *base_dir, const char *p)
{
	size_t need;
	char *s;

	if (!p)
		return NULL;
	if (p[0] == '/' || !base_dir)
		base_dir = "";
	need = strlen(base_dir) + 1 + strlen(p) + 2;
	s = malloc(need);
	if (!s)
		return NULL;
	if (p[0] == '/')
		snprintf(s, need, "%s", p);
	else
		snprintf(s, need, "%s/%s", base_dir, p);
	if (s[0] == '/')
		normalise_abs(s);
	return s;
}

void cfg_resolve_field(cfg_ctx *c, char **field)
{
	char *abs;

	if (!*field)
		return;
	abs = cfg_resolve_path(c->base_dir, *field);
	if (!abs) {
		c->oom = 1;
		return;
	}
	free(*field);
	*field = abs;
}
