/*-------------------------------------------------------------------------
 *
 * pgchange.h
 *	  Helpers every part of the extension uses (pgchange.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_PGCHANGE_H
#define PGCHANGE_PGCHANGE_H

#include "fmgr.h"

/* a materialized set-returning function's tuplestore, on PostgreSQL 13 to 17 */
extern void pgchange_init_srf(FunctionCallInfo fcinfo);

#endif							/* PGCHANGE_PGCHANGE_H */
