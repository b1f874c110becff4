/*-------------------------------------------------------------------------
 *
 * cli.h
 *	  The command table of the pgchange controller.
 *
 * Each command family lives in its own cmd_*.c file and exports Command
 * entries; commands.c lists them.  Global options are parsed once, in
 * main.c, wherever they appear on the command line; a command declares
 * only its own options and receives its positional arguments.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CLI_H
#define PGCHANGE_CLI_H

#include <getopt.h>
#include <stdbool.h>

/* Options every command understands, parsed once in main.c */
typedef struct GlobalOptions
{
	const char *dbname;			/* -d: conninfo string or URI; NULL: libpq defaults */
	const char *project;		/* -p: project; $PGCHANGE_PROJECT, else "default" */
	bool		project_set;	/* -p or $PGCHANGE_PROJECT gave it */
	bool		json;			/* --json: machine-readable output */
	bool		quiet;			/* -q: errors only */
	int			verbose;		/* -v, repeatable */
} GlobalOptions;

typedef struct Command Command;

struct Command
{
	const char *name;
	const char *summary;		/* one line for `pgchange --help` */
	const char *usage;			/* synopsis and options for `pgchange help NAME` */

	/* command-specific options; either may be NULL */
	const char *short_options;
	const struct option *long_options;	/* terminated by an all-zero entry */

	/* store one parsed option; return false on invalid value (usage error) */
	bool		(*parse_option) (int opt, const char *arg);

	/* run with positional arguments; returns a PgcExit code */
	int			(*run) (const GlobalOptions *g, int argc, char **argv);

	/* NULL-terminated; a command with subcommands has no run of its own */
	const Command *const *subcommands;
};

/* commands.c */
extern const Command *const pgc_commands[];
extern const Command *cli_find_command(const Command *const *table, const char *name);

/* cli.c */
extern int	cli_main(int argc, char **argv);
extern void cli_print_help(const Command *cmd, const char *parent);
extern int	cli_usage_error(const Command *cmd, const char *parent, const char *fmt,...) pg_attribute_printf(3, 4);

/* command entries, one family per file */
extern const Command cmd_ping;
extern const Command cmd_init;
extern const Command cmd_checksum;
extern const Command cmd_deploy;
extern const Command cmd_status;
extern const Command cmd_validate;
extern const Command cmd_tag;
extern const Command cmd_help;
extern const Command cmd_lock;
extern const Command cmd_history;
extern const Command cmd_check;
extern const Command cmd_policy;
extern const Command cmd_drift;
extern const Command cmd_rollback;
extern const Command cmd_verify;

#endif							/* PGCHANGE_CLI_H */
