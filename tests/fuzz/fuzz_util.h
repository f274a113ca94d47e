/* fuzz_util.h — what the libFuzzer harnesses share: the entry point's prototype and chunked feeding. */
#ifndef PB_FUZZ_UTIL_H
#define PB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated malloc'd copy of the input (text parsers take C strings); aborts on OOM. */
static inline char *fz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Streams arrive in pieces split anywhere: the first input byte picks a piece size
 * (1..256, 0 = all at once), the rest is fed in pieces of that size to fn(ud, piece, len).
 */
static inline void fz_chunks(const uint8_t *data, size_t size, void (*fn)(void *ud, const char *p, size_t n),
			     void *ud)
{
	size_t step, i;

	if (size == 0)
		return;
	step = data[0] ? data[0] : size;
	data++;
	size--;
	for (i = 0; i < size; i += step)
		fn(ud, (const char *)data + i, size - i < step ? size - i : step);
}

#endif
