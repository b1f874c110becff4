/*-------------------------------------------------------------------------
 *
 * checksum.c
 *	  pgchange.checksum(text): the SQL face of common/checksum.c, so a DBA
 *	  in psql and the controller reading files compute the same value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "checksum.h"
#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(pgchange_checksum);

Datum
pgchange_checksum(PG_FUNCTION_ARGS)
{
	text	   *body = PG_GETARG_TEXT_PP(0);
	char		out[PGC_CHECKSUM_LEN + 1];
	const char *errstr = NULL;

	if (!pgc_checksum(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), out, &errstr))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute checksum: %s", errstr ? errstr : "unknown error")));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
