/*-------------------------------------------------------------------------
 *
 * lockwait.h
 *	  Taking a project's deploy lock from the controller, waiting for it
 *	  without holding anything in the database (deploy and lock acquire).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_LOCKWAIT_H
#define PGCHANGE_LOCKWAIT_H

#include <signal.h>

#include "libpq-fe.h"

typedef struct LockRequest
{
	const char *project;
	const char *owner;			/* NULL: the role */
	const char *reason;
	const char *lease;			/* interval text */
	double		wait_s;			/* how long to keep trying */
	const char *wait_label;		/* shown while waiting; NULL: the seconds left */
	volatile sig_atomic_t *stop;	/* stop waiting once set; may be NULL */
} LockRequest;

/*
 * Take the lock, polling with backoff until the wait runs out.  Returns an
 * exit code (lock, usage or error after logging why); on success *result
 * is what pgchange.lock() said: acquired, renewed or taken_over.
 */
extern int	pgc_lock_acquire(PGconn *conn, const LockRequest *req, char **result);

#endif							/* PGCHANGE_LOCKWAIT_H */
