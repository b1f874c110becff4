/*-------------------------------------------------------------------------
 *
 * commands.c
 *	  The table of top-level commands.  Adding a command: write its entry
 *	  in a cmd_*.c file, declare it in cli.h, list it here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli.h"

const Command *const pgc_commands[] = {
	&cmd_init,
	&cmd_deploy,
	&cmd_status,
	&cmd_validate,
	&cmd_tag,
	&cmd_rollback,
	&cmd_ping,
	&cmd_checksum,
	&cmd_lock,
	&cmd_history,
	&cmd_check,
	&cmd_policy,
	&cmd_drift,
	&cmd_verify,
	&cmd_help,
	NULL
};

const Command *
cli_find_command(const Command *const *table, const char *name)
{
	for (int i = 0; table[i] != NULL; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}
