/*-------------------------------------------------------------------------
 *
 * deploy.h
 *	  What deploy.c shares with rollback.c: running SQL inside the
 *	  database statement by statement, as pgchange.run_changeset does.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_DEPLOY_H
#define PGCHANGE_DEPLOY_H

/* Run sql in the current transaction (inside SPI); returns statements run */
extern int	pgchange_exec_sql(const char *label, const char *sql);

#endif							/* PGCHANGE_DEPLOY_H */
