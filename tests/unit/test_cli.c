/*-------------------------------------------------------------------------
 *
 * test_cli.c
 *	  Unit tests of the command table and the exit code table.
 *
 * Every command must be reachable and documented: a name, a summary and a
 * usage, a run function or subcommands (never both), unique names, and
 * option entries the merged getopt table can hold.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli.h"
#include "exitcodes.h"
#include "tap.h"

static void
check_table(const Command *const *table, const char *parent)
{
	for (int i = 0; table[i] != NULL; i++)
	{
		const Command *c = table[i];
		int			nopts = 0;

		ok(c->name && *c->name && strchr(c->name, ' ') == NULL,
		   "%s %s: has a one-word name", parent, c->name ? c->name : "?");
		ok(c->summary && *c->summary && !isupper((unsigned char) c->summary[0]) &&
		   c->summary[strlen(c->summary) - 1] != '.',
		   "%s %s: summary is lower-case without a final period", parent, c->name);
		ok(c->usage && strncmp(c->usage, "Usage:\n", 7) == 0,
		   "%s %s: usage starts with \"Usage:\"", parent, c->name);
		ok((c->run != NULL) != (c->subcommands != NULL),
		   "%s %s: has either a run function or subcommands", parent, c->name);
		ok((c->long_options == NULL && c->short_options == NULL) || c->parse_option != NULL,
		   "%s %s: declares options only with a parser for them", parent, c->name);
		if (c->long_options)
			while (c->long_options[nopts].name)
				nopts++;
		ok(nopts < 50, "%s %s: option table fits the merged getopt table", parent, c->name);
		for (int j = i + 1; table[j] != NULL; j++)
			ok(strcmp(c->name, table[j]->name) != 0, "%s %s and %s: distinct names",
			   parent, c->name, table[j]->name);
		ok(cli_find_command(table, c->name) == c, "%s %s: found by name", parent, c->name);
		if (c->subcommands)
			check_table(c->subcommands, c->name);
	}
}

int
main(int argc, char **argv)
{
	check_table(pgc_commands, "pgchange");
	ok(cli_find_command(pgc_commands, "no-such-command") == NULL,
	   "an unknown command is not found");

	is_int(pgc_exit_code_count, 9, "nine exit codes");
	for (int i = 0; i < pgc_exit_code_count; i++)
	{
		is_int(pgc_exit_codes[i].code, i, "exit code table is ordered: %d", i);
		ok(pgc_exit_codes[i].meaning && *pgc_exit_codes[i].meaning,
		   "exit code %d has a meaning", i);
	}
	is_str(pgc_exit_name(PGC_EXIT_LOCK), "lock", "exit code 3 is named lock");
	is_str(pgc_exit_name(PGC_EXIT_POLICY), "policy", "exit code 5 is named policy");
	is_str(pgc_exit_name((PgcExit) 42), "unknown", "an undefined code is named unknown");
	return done_testing();
}
