/*-------------------------------------------------------------------------
 *
 * junit.h
 *	  Writing a verification report as JUnit XML for CI systems.
 *
 * Every libxml2 xmlTextWriter call of the controller is in junit.c, so
 * the library can be reached through one loading shim.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_JUNIT_H
#define PGCHANGE_JUNIT_H

#include "verify.h"

/*
 * Write rep to path: <testsuites>, one <testsuite> per pgTAP file and one
 * for the changesets' verify SQL, a <testcase> per test with <failure>
 * (diagnostics in its text), <skipped>, or <error> for a suite that
 * failed as a whole.  false (error logged) if the file cannot be written.
 */
extern bool junit_write(const char *path, const VerifyReport *rep);

#endif							/* PGCHANGE_JUNIT_H */
