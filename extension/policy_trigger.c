/*-------------------------------------------------------------------------
 *
 * policy_trigger.c
 *	  The policy event triggers: rules at ddl_command_start, facts and
 *	  pgchange.ddl_log at ddl_command_end, CASCADE at sql_drop, rewrites at
 *	  table_rewrite; guard mode and break-glass.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "policy.h"

PolicyRunningChangeset *policy_running_changeset = NULL;
