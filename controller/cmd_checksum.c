/*-------------------------------------------------------------------------
 *
 * cmd_checksum.c
 *	  pgchange checksum FILE...: the checksum of files as the database
 *	  computes it (pgchange.checksum), without a database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "checksum.h"
#include "common/logging.h"
#include "exitcodes.h"
#include "output.h"

/*
 * Read a whole file ("-" is standard input) into a palloc'd buffer.
 */
static char *
read_whole_file(const char *path, size_t *len)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t		cap = 65536;
	size_t		n = 0;
	char	   *buf;

	if (f == NULL)
	{
		pg_log_error("could not open file \"%s\": %m", path);
		return NULL;
	}
	buf = pg_malloc(cap);
	for (;;)
	{
		size_t		got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (n < cap)
		{
			if (ferror(f))
			{
				pg_log_error("could not read file \"%s\": %m", path);
				pg_free(buf);
				if (f != stdin)
					fclose(f);
				return NULL;
			}
			break;
		}
		cap *= 2;
		buf = pg_realloc(buf, cap);
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static int
checksum_run(const GlobalOptions *g, int argc, char **argv)
{
	cJSON	   *list = g->json ? cJSON_CreateArray() : NULL;
	int			rc = PGC_EXIT_OK;

	if (argc == 0)
		return cli_usage_error(&cmd_checksum, NULL, "no file given");

	for (int i = 0; i < argc; i++)
	{
		size_t		len;
		char	   *body = read_whole_file(argv[i], &len);
		char		sum[PGC_CHECKSUM_LEN + 1];
		const char *errstr;

		if (body == NULL)
		{
			rc = PGC_EXIT_USAGE;
			continue;
		}
		if (!pgc_checksum(body, len, sum, &errstr))
		{
			pg_log_error("could not compute the checksum of \"%s\": %s", argv[i], errstr);
			rc = PGC_EXIT_ERROR;
		}
		else if (list)
		{
			cJSON	   *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "file", argv[i]);
			cJSON_AddStringToObject(o, "checksum", sum);
			cJSON_AddItemToArray(list, o);
		}
		else
			printf("%s  %s\n", sum, argv[i]);
		pg_free(body);
	}
	if (list)
		out_json_print(list);
	return rc;
}

const Command cmd_checksum = {
	.name = "checksum",
	.summary = "print the checksum of SQL files, as pgchange.checksum() computes it",
	.usage =
	"Usage:\n  pgchange checksum FILE...\n\n"
	"Prints \"1:<sha256>  FILE\" for each file (\"-\" reads standard input): the\n"
	"SHA-256 of the body with comments removed and whitespace folded outside\n"
	"literals, so cosmetic edits keep the checksum.  Needs no database.\n",
	.run = checksum_run,
};
