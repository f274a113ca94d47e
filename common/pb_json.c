/* pb_json.c — bounded numeric and string reads from cJSON trees (peer input). */
#include "pb_json.h"

#include <math.h>

#include "pb_err.h"
#include "pb_str.h"

/* 2^53: the largest range in which every integer is exact in a double. */
#define PB_JSON_EXACT 9007199254740992.0

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int pb_json_int_item(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
	double v;

	if (!item || cJSON_IsNull(item))
		return PB_E_NOTFOUND;
	if (!cJSON_IsNumber(item))
		return PB_E_INVALID;
	v = item->valuedouble;
	/* compare as doubles before any conversion: the cast is only done in range */
	if (!isfinite(v) || v != floor(v) || v < -PB_JSON_EXACT || v > PB_JSON_EXACT)
		return PB_E_INVALID;
	if (v < (double)min || v > (double)max)
		return PB_E_INVALID;
	*out = (int64_t)v;
	if (*out < min || *out > max)
		return PB_E_INVALID;
	return 0;
}

int pb_json_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	return pb_json_int_item(get(obj, key), min, max, out);
}

int pb_json_int32(const cJSON *obj, const char *key, int min, int max, int *out)
{
	int64_t v;
	int r = pb_json_int(obj, key, min, max, &v);

	if (!r)
		*out = (int)v;
	return r;
}

int pb_json_double(const cJSON *obj, const char *key, double min, double max, double *out)
{
	const cJSON *item = get(obj, key);

	if (!item || cJSON_IsNull(item))
		return PB_E_NOTFOUND;
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < min ||
	    item->valuedouble > max)
		return PB_E_INVALID;
	*out = item->valuedouble;
	return 0;
}

int pb_json_u64(const cJSON *obj, const char *key, uint64_t *out)
{
	int64_t v;
	int r = pb_json_int(obj, key, 0, (int64_t)PB_JSON_EXACT, &v);

	if (!r)
		*out = (uint64_t)v;
	return r;
}

int pb_json_int_or(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out,
		   pb_err *err)
{
	const cJSON *item = get(obj, key);
	int r = pb_json_int_item(item, min, max, out);

	if (r == PB_E_NOTFOUND) {
		*out = def;
		return 0;
	}
	if (!r)
		return 0;
	if (cJSON_IsNumber(item))
		return pb_err_set(err, PB_E_INVALID, "%s: %.15g is not an integer in [%lld, %lld]", key,
				  item->valuedouble, (long long)min, (long long)max);
	return pb_err_set(err, PB_E_INVALID, "%s: not a number (an integer in [%lld, %lld] was expected)", key,
			  (long long)min, (long long)max);
}

int pb_json_int32_or(const cJSON *obj, const char *key, int min, int max, int def, int *out, pb_err *err)
{
	int64_t v;
	int r = pb_json_int_or(obj, key, min, max, def, &v, err);

	if (!r)
		*out = (int)v;
	return r;
}

const char *pb_json_str(const cJSON *obj, const char *key)
{
	const cJSON *item = get(obj, key);

	return cJSON_IsString(item) && item->valuestring ? item->valuestring : NULL;
}

int pb_json_strcpy(const cJSON *obj, const char *key, char *dst, size_t size)
{
	const cJSON *item = get(obj, key);

	if (!item || cJSON_IsNull(item))
		return PB_E_NOTFOUND;
	if (!cJSON_IsString(item) || !item->valuestring)
		return PB_E_INVALID;
	pb_strlcpy(dst, item->valuestring, size);
	return 0;
}
