/*-------------------------------------------------------------------------
 *
 * cli.c
 *	  Command-line handling of the pgchange command: global options,
 *	  dispatch through the command table, help and version.
 *
 * Global options are accepted before or after the command name and are
 * parsed here only, so no command repeats -d/-v/-q/--json handling.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli.h"
#include "common/logging.h"
#include "exitcodes.h"

#define GLOBAL_SHORT_OPTIONS "d:p:qv"

enum
{
	OPT_JSON = 1000,
	OPT_HELP,
	OPT_VERSION
};

static const struct option global_long_options[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"project", required_argument, NULL, 'p'},
	{"json", no_argument, NULL, OPT_JSON},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0}
};

static const char *global_options_help =
"Global options (before or after the command):\n"
"  -d, --dbname=CONNINFO   database to use: a conninfo string or URI; PG*\n"
"                          environment variables, service files and .pgpass\n"
"                          apply as in psql\n"
"  -p, --project=NAME      the project (one database can hold several\n"
"                          changelogs); default $PGCHANGE_PROJECT or \"default\"\n"
"      --json              machine-readable output\n"
"  -q, --quiet             print errors only\n"
"  -v, --verbose           more detail (repeat for more)\n"
"      --help              show help and exit\n"
"      --version           show the version and exit\n";

static void
print_version(void)
{
	printf("pgchange %s\n", PGCHANGE_VERSION);
}

static void
print_main_help(void)
{
	printf("pgchange %s: change management for PostgreSQL\n\n", PGCHANGE_VERSION);
	printf("Usage:\n  pgchange [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
	for (int i = 0; pgc_commands[i] != NULL; i++)
		printf("  %-12s %s\n", pgc_commands[i]->name, pgc_commands[i]->summary);
	printf("\n%s", global_options_help);
	printf("\nRun \"pgchange help COMMAND\" for a command's options, and\n"
		   "\"pgchange help exit-codes\" for the exit codes.\n");
}

/*
 * Print the help of one command (and the list of its subcommands).
 */
void
cli_print_help(const Command *cmd, const char *parent)
{
	printf("%s%s%s: %s\n\n", parent ? parent : "", parent ? " " : "",
		   cmd->name, cmd->summary);
	printf("%s", cmd->usage);
	if (cmd->subcommands)
	{
		printf("\nSubcommands:\n");
		for (int i = 0; cmd->subcommands[i] != NULL; i++)
			printf("  %-12s %s\n", cmd->subcommands[i]->name,
				   cmd->subcommands[i]->summary);
	}
	printf("\n%s", global_options_help);
}

/*
 * Report a usage error in the psql way and return the usage exit code.
 */
int
cli_usage_error(const Command *cmd, const char *parent, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pg_log_error("%s", buf);
	if (cmd)
		pg_log_error_hint("Try \"pgchange help %s%s%s\" for more information.",
						  parent ? parent : "", parent ? " " : "", cmd->name);
	else
		pg_log_error_hint("Try \"pgchange --help\" for more information.");
	return PGC_EXIT_USAGE;
}

/*
 * Apply a global option; returns false if opt is not one.
 */
static bool
apply_global_option(GlobalOptions *g, int opt, const char *arg)
{
	switch (opt)
	{
		case 'd':
			g->dbname = arg;
			return true;
		case 'p':
			g->project = arg;
			g->project_set = true;
			return true;
		case 'q':
			g->quiet = true;
			pg_logging_set_level(PG_LOG_ERROR);
			return true;
		case 'v':
			g->verbose++;
			pg_logging_increase_verbosity();
			return true;
		case OPT_JSON:
			g->json = true;
			return true;
		default:
			return false;
	}
}

/*
 * Parse a command's arguments: its own options merged with the global
 * ones, in any order; then run it (or descend into a subcommand).
 */
static int
run_command(GlobalOptions *g, const Command *cmd, const char *parent,
			int argc, char **argv)
{
	struct option long_options[64];
	char		short_options[128];
	int			n = 0;
	int			opt;

	/* merge the command's options with the global ones */
	for (int i = 0; global_long_options[i].name; i++)
		long_options[n++] = global_long_options[i];
	if (cmd->long_options)
		for (int i = 0; cmd->long_options[i].name && n < 63; i++)
			long_options[n++] = cmd->long_options[i];
	memset(&long_options[n], 0, sizeof(struct option));
	snprintf(short_options, sizeof(short_options), "+%s%s",
			 GLOBAL_SHORT_OPTIONS, cmd->short_options ? cmd->short_options : "");

	/* subcommands: options may come before the subcommand name */
	optind = 0;					/* glibc: reinitialise getopt for this argv */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1)
	{
		if (opt == OPT_HELP)
		{
			cli_print_help(cmd, parent);
			exit(PGC_EXIT_OK);
		}
		if (opt == OPT_VERSION)
		{
			print_version();
			exit(PGC_EXIT_OK);
		}
		if (apply_global_option(g, opt, optarg))
			continue;
		if (opt == '?' || opt == ':')
		{
			if (optopt && optopt < 256)
				return cli_usage_error(cmd, parent, "invalid option or missing value: -%c", optopt);
			return cli_usage_error(cmd, parent, "invalid option or missing value: %s", argv[optind - 1]);
		}
		if (!cmd->parse_option || !cmd->parse_option(opt, optarg))
			return cli_usage_error(cmd, parent, "invalid value for option %s", argv[optind - 1]);

		/* options of a command with subcommands apply to all of them */
	}

	if (cmd->subcommands)
	{
		const Command *sub;
		char		fullname[128];

		if (optind >= argc)
			return cli_usage_error(cmd, parent, "a subcommand of \"%s\" is required", cmd->name);
		sub = cli_find_command(cmd->subcommands, argv[optind]);
		if (sub == NULL)
			return cli_usage_error(cmd, parent, "unknown subcommand \"%s %s\"", cmd->name, argv[optind]);
		snprintf(fullname, sizeof(fullname), "%s%s%s", parent ? parent : "",
				 parent ? " " : "", cmd->name);
		return run_command(g, sub, fullname, argc - optind, argv + optind);
	}

	/* permute the rest too: options may follow positional arguments */
	{
		int			npos = 0;
		int			rc;
		char	  **positional = pg_malloc0(sizeof(char *) * (argc + 1));

		positional[npos++] = argv[0];
		while (optind < argc)
		{
			positional[npos++] = argv[optind++];
			while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1)
			{
				if (opt == OPT_HELP)
				{
					cli_print_help(cmd, parent);
					exit(PGC_EXIT_OK);
				}
				if (apply_global_option(g, opt, optarg))
					continue;
				if (opt == '?' || opt == ':' || !cmd->parse_option ||
					!cmd->parse_option(opt, optarg))
				{
					pg_free(positional);
					return cli_usage_error(cmd, parent, "invalid option or value: %s", argv[optind - 1]);
				}
			}
		}
		rc = cmd->run(g, npos - 1, positional + 1);
		pg_free(positional);
		return rc;
	}
}

int
cli_main(int argc, char **argv)
{
	GlobalOptions g = {0};
	int			opt;

	pg_logging_init(argv[0]);
	g.project = getenv("PGCHANGE_PROJECT");
	g.project_set = g.project != NULL && *g.project != '\0';
	if (!g.project_set)
		g.project = "default";
	/* progress chatter only with -v; -vv adds the queries */
	pg_logging_set_level(PG_LOG_WARNING);
	set_pglocale_pgservice(argv[0], PG_TEXTDOMAIN("pgchange"));

	/* global options before the command name */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+" GLOBAL_SHORT_OPTIONS,
							  global_long_options, NULL)) != -1)
	{
		if (opt == OPT_HELP)
		{
			print_main_help();
			return PGC_EXIT_OK;
		}
		if (opt == OPT_VERSION)
		{
			print_version();
			return PGC_EXIT_OK;
		}
		if (!apply_global_option(&g, opt, optarg))
			return cli_usage_error(NULL, NULL, "invalid option or missing value: %s",
								   argv[optind - 1]);
	}

	if (optind >= argc)
	{
		print_main_help();
		return PGC_EXIT_USAGE;
	}

	{
		const Command *cmd = cli_find_command(pgc_commands, argv[optind]);

		if (cmd == NULL)
			return cli_usage_error(NULL, NULL, "unknown command \"%s\"", argv[optind]);
		return run_command(&g, cmd, NULL, argc - optind, argv + optind);
	}
}

/*
 * help [COMMAND [SUBCOMMAND]] | help exit-codes
 */
static int
help_run(const GlobalOptions *g, int argc, char **argv)
{
	const Command *const *table = pgc_commands;
	const Command *cmd = NULL;
	const char *parent = NULL;

	if (argc == 0)
	{
		print_main_help();
		return PGC_EXIT_OK;
	}
	if (strcmp(argv[0], "exit-codes") == 0)
	{
		printf("Exit codes of pgchange:\n");
		for (int i = 0; i < pgc_exit_code_count; i++)
			printf("  %d  %-11s %s\n", pgc_exit_codes[i].code, pgc_exit_codes[i].name,
				   pgc_exit_codes[i].meaning);
		return PGC_EXIT_OK;
	}
	for (int i = 0; i < argc; i++)
	{
		if (table == NULL || (cmd = cli_find_command(table, argv[i])) == NULL)
			return cli_usage_error(NULL, NULL, "unknown command \"%s\"", argv[i]);
		if (i + 1 < argc)
			parent = cmd->name;
		table = cmd->subcommands;
	}
	cli_print_help(cmd, argc > 1 ? parent : NULL);
	return PGC_EXIT_OK;
}

const Command cmd_help = {
	.name = "help",
	.summary = "show help for a command, or the exit codes (help exit-codes)",
	.usage = "Usage:\n  pgchange help [COMMAND [SUBCOMMAND]]\n  pgchange help exit-codes\n",
	.run = help_run,
};
