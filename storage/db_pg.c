/* db_pg.c — the PostgreSQL backend of pb_store (libpq). */
#include <errno.h>

#include "store_priv.h"

static int pg_connect(pb_store *st, const char *target, const char *password, pb_err *err)
{
	(void)st;
	(void)target;
	(void)password;
	return pb_err_set(err, -ENOTSUP, "storage: the PostgreSQL backend is not built yet");
}

const pb_db_ops pb_db_pg_ops = {
	.name = "postgres",
	.connect = pg_connect,
};
