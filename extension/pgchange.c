/*-------------------------------------------------------------------------
 *
 * pgchange.c
 *	  Module entry point of the pgchange extension and its version checks.
 *
 * The library version is compiled in from META.json.  The controller
 * compares it, and the installed extension version, with its own and
 * refuses to work against a mismatch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(pgchange_version);

/*
 * pgchange.version(): the version of the library this backend loaded,
 * which can differ from the extension's installed SQL version after a
 * package upgrade that was not followed by ALTER EXTENSION ... UPDATE.
 */
Datum
pgchange_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(PGCHANGE_VERSION));
}
