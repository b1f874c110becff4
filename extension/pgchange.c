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
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "pgchange.h"

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

/* InitMaterializedSRF for every supported version */
void
pgchange_init_srf(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext oldcxt;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcxt);
#endif
}
