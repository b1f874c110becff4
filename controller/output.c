/*-------------------------------------------------------------------------
 *
 * output.c
 *	  Tables through PostgreSQL's fe_utils/print (what psql uses), JSON
 *	  through cJSON; nothing here formats either by hand.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "catalog/pg_type_d.h"
#include "fe_utils/print.h"
#include "mb/pg_wchar.h"
#include "output.h"

#define MAX_RECORD_FIELDS 64

/* client encoding of the connection, for column widths (as psql does) */
static int	out_encoding = PG_SQL_ASCII;

void
out_set_encoding(int encoding)
{
	out_encoding = encoding;
}

struct OutRecord
{
	cJSON	   *json;
	const char *labels[MAX_RECORD_FIELDS];
	char	   *values[MAX_RECORD_FIELDS];
	int			n;
};

void
out_json_print(cJSON *value)
{
	char	   *text = cJSON_Print(value);

	if (text == NULL)
	{
		fprintf(stderr, "pgchange: out of memory rendering JSON\n");
		exit(1);
	}
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(value);
}

cJSON *
out_cell_json(const PGresult *res, int row, int col)
{
	const char *v;

	if (PQgetisnull(res, row, col))
		return cJSON_CreateNull();
	v = PQgetvalue(res, row, col);
	switch (PQftype(res, col))
	{
		case BOOLOID:
			return cJSON_CreateBool(v[0] == 't');
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			/* keep the exact digits; NaN and infinities are not JSON numbers */
			if (strspn(v, "0123456789-+.eE") == strlen(v) && *v)
				return cJSON_CreateRaw(v);
			return cJSON_CreateString(v);
		case JSONOID:
		case JSONBOID:
			return cJSON_CreateRaw(v);
		default:
			return cJSON_CreateString(v);
	}
}

void
out_result(const GlobalOptions *g, const PGresult *res, const char *title)
{
	if (g->json)
	{
		cJSON	   *rows = cJSON_CreateArray();

		for (int r = 0; r < PQntuples(res); r++)
		{
			cJSON	   *obj = cJSON_CreateObject();

			for (int c = 0; c < PQnfields(res); c++)
				cJSON_AddItemToObject(obj, PQfname(res, c), out_cell_json(res, r, c));
			cJSON_AddItemToArray(rows, obj);
		}
		out_json_print(rows);
	}
	else
	{
		printQueryOpt opt = {0};

		opt.topt.format = PRINT_ALIGNED;
		opt.topt.border = 1;
		opt.topt.start_table = true;
		opt.topt.stop_table = true;
		opt.topt.default_footer = true;
		opt.topt.encoding = out_encoding;
		opt.title = (char *) title;
		printQuery(res, &opt, stdout, false, NULL);
	}
}

OutRecord *
out_record_new(void)
{
	OutRecord  *r = pg_malloc0(sizeof(OutRecord));

	r->json = cJSON_CreateObject();
	return r;
}

static void
record_add(OutRecord *r, const char *key, const char *label, cJSON *value, char *text)
{
	cJSON_AddItemToObject(r->json, key, value);
	if (r->n < MAX_RECORD_FIELDS)
	{
		r->labels[r->n] = label;
		r->values[r->n] = text;
		r->n++;
	}
}

void
out_record_str(OutRecord *r, const char *key, const char *label, const char *value)
{
	record_add(r, key, label, value ? cJSON_CreateString(value) : cJSON_CreateNull(),
			   pg_strdup(value ? value : ""));
}

void
out_record_int(OutRecord *r, const char *key, const char *label, long long value)
{
	record_add(r, key, label, cJSON_CreateNumber((double) value), psprintf("%lld", value));
}

void
out_record_bool(OutRecord *r, const char *key, const char *label, bool value)
{
	record_add(r, key, label, cJSON_CreateBool(value), pg_strdup(value ? "yes" : "no"));
}

void
out_record_free(OutRecord *r)
{
	cJSON_Delete(r->json);
	for (int i = 0; i < r->n; i++)
		pfree(r->values[i]);
	pfree(r);
}

void
out_record_emit(const GlobalOptions *g, OutRecord *r)
{
	if (!g->quiet || g->json)
		out_record_print(g, r);
	else
		out_record_free(r);
}

void
out_record_print(const GlobalOptions *g, OutRecord *r)
{
	if (g->json)
	{
		out_json_print(r->json);
		r->json = NULL;
	}
	else
	{
		int			width = 0;

		for (int i = 0; i < r->n; i++)
			width = Max(width, (int) strlen(r->labels[i]));
		for (int i = 0; i < r->n; i++)
			printf("%s:%*s %s\n", r->labels[i], width - (int) strlen(r->labels[i]), "",
				   r->values[i]);
	}
	out_record_free(r);
}
