/* fuzz_link_header.c — a peer's header block through pb_http's header lookup and link rel="next" (first byte picks the out size). */
#include <assert.h>

#include "fuzz_util.h"
#include "pb_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "link", "retry-after", "x-ratelimit-remaining", "x-ratelimit-reset",
					     "etag", "content-type", "api-version" };
	static char out[8192 + 1];
	size_t cap;
	pb_http_resp resp;
	int r;

	if (size == 0)
		return 0;
	/* 0 = no room at all, else a size up to the 8 KiB GitHub's client uses */
	cap = data[0] == 255 ? sizeof(out) - 1 : (size_t)data[0] * 4;
	pb_http_resp_init(&resp);
	resp.status = 200;
	pb_buf_append(&resp.headers, data + 1, size - 1);
	if (resp.headers.oom)
		abort();
	memset(out, 'X', sizeof(out));
	r = pb_http_link_next(&resp, out, cap);
	assert(r == 0 || r == PB_E_NOTFOUND || r == PB_E_INVALID);
	if (cap) {
		size_t len = strnlen(out, cap);

		assert(len < cap);
		/* the URL is bytes of the header block, between '<' and '>' */
		if (r == 0 && len)
			assert(memmem(data + 1, size - 1, out, len) && !memchr(out, '>', len));
		assert(r == 0 || len == 0);
	}
	assert(out[cap] == 'X');
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char v[64];

		memset(v, 'X', sizeof(v));
		r = pb_http_resp_header(&resp, names[i], v, sizeof(v));
		assert(r == 0 || r == PB_E_NOTFOUND);
		assert(strnlen(v, sizeof(v)) < sizeof(v));
	}
	pb_http_resp_deinit(&resp);
	return 0;
}
