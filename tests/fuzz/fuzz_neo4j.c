/* fuzz_neo4j.c — Neo4j HTTP replies: tx/commit results and errors (first byte picks the HTTP status), discovery. */
#include <assert.h>

#include "fuzz_util.h"
#include "neo4j_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 401, 400, 500 };
	pb_neo4j_result res;
	pb_neo4j_info info;
	pb_err err;
	long status;
	int r;

	if (size == 0)
		return 0;
	status = statuses[data[0] & 3];
	data++;
	size--;
	memset(&res, 0, sizeof(res));
	pb_err_init(&err);
	r = neo4j_reply_read(status, (const char *)data, size, "http://127.0.0.1:7474",
			     "http://127.0.0.1:7474/db/neo4j/tx/commit", &res, &err);
	if (r == 0) {
		assert(res.root && res.nodes_created >= 0 && res.nodes_deleted >= 0);
		/* what the validation steps read: every cell of the first rows */
		for (int row = 0; row < pb_neo4j_rows(&res) && row < 8; row++)
			for (int col = 0; col < 8; col++)
				(void)pb_neo4j_value(&res, row, col);
	} else {
		assert(res.root == NULL && err.set);
	}
	pb_neo4j_result_deinit(&res);
	(void)neo4j_discovery_read((const char *)data, size, &info);
	return 0;
}
