/*-------------------------------------------------------------------------
 *
 * rollback_int.h
 *	  Internal to the rollback files (rollback.c, rollback_resolve.c,
 *	  cmd_rollback.c): a changeset's rollback as the files have it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_ROLLBACK_INT_H
#define PGCHANGE_ROLLBACK_INT_H

#include "changelog.h"

typedef struct ResolvedRollback
{
	char	   *sql;			/* allocated; NULL: none, "": nothing to undo */
	char	  **statements;		/* not owned: goose's split, else NULL */
	int			nstatements;
	bool		in_transaction;
} ResolvedRollback;

/* The rollback cs stores when it runs; false after reporting a bad reference */
extern bool rollback_resolve(const Changelog *cl, const Changeset *cs, ResolvedRollback *out);

/* Its checksum as pgchange.checksum() computes it; false when it has none */
extern bool rollback_file_checksum(const Changelog *cl, const Changeset *cs, char *out);

#endif							/* PGCHANGE_ROLLBACK_INT_H */
