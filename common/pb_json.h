/* pb_json.h — reading numbers and strings from a peer's JSON without trusting them. */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pb_err.h"

/*
 * cJSON stores every number as a double; a peer can send 7.65556e+97 or
 * 1.5 where we expect a port. Never cast valuedouble: read through these.
 *
 * Returns 0 with *out set; PB_E_NOTFOUND when the key is absent or JSON
 * null (out untouched); PB_E_INVALID when the value is not a number, not
 * finite, not integral, or outside [min, max]. `obj` may be NULL.
 */
int pb_json_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* Same for an item itself (an array element). */
int pb_json_int_item(const cJSON *item, int64_t min, int64_t max, int64_t *out);
/* An int-typed convenience: bounds must fit in int. */
int pb_json_int32(const cJSON *obj, const char *key, int min, int max, int *out);
/* A finite double in [min, max] (fractions allowed). Same codes. */
int pb_json_double(const cJSON *obj, const char *key, double min, double max, double *out);
/* An unsigned 64-bit counter (bytes, nanoseconds): integral, 0 ≤ v ≤ 2^53 (exact in a double). */
int pb_json_u64(const cJSON *obj, const char *key, uint64_t *out);
/*
 * The reader callers use for a peer's numbers: like pb_json_int, but an
 * absent key (or null) gives `def`, and a bad value sets err to
 * "<key>: <value> is not an integer in [min, max]" (PB_E_INVALID).
 */
int pb_json_int_or(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out,
		   pb_err *err);
/* The same into an int (bounds must fit in int). */
int pb_json_int32_or(const cJSON *obj, const char *key, int min, int max, int def, int *out, pb_err *err);
/* The string value of key, or NULL when absent / not a string. Borrowed from obj. */
const char *pb_json_str(const cJSON *obj, const char *key);
/* Copies the string value of key into dst (truncating); PB_E_NOTFOUND / PB_E_INVALID (not a string). */
int pb_json_strcpy(const cJSON *obj, const char *key, char *dst, size_t size);

#endif
