/*-------------------------------------------------------------------------
 *
 * output.h
 *	  Rendering results for people (psql-style tables, aligned records)
 *	  and for machines (--json), in one place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_OUTPUT_H
#define PGCHANGE_OUTPUT_H

#include "cli.h"
#include "libpq-fe.h"

typedef struct OutRecord OutRecord;

/* Set by pgc_connect: the client encoding, for measuring column widths */
extern void out_set_encoding(int encoding);

/* A query result as a psql-style table, or as a JSON array of objects */
extern void out_result(const GlobalOptions *g, const PGresult *res, const char *title);

/* JSON value of one result cell, typed by its column's type */
extern struct cJSON *out_cell_json(const PGresult *res, int row, int col);

/* One record: "label: value" lines for people, a JSON object for machines */
extern OutRecord *out_record_new(void);
extern void out_record_str(OutRecord *r, const char *key, const char *label, const char *value);
extern void out_record_int(OutRecord *r, const char *key, const char *label, long long value);
extern void out_record_bool(OutRecord *r, const char *key, const char *label, bool value);
extern void out_record_print(const GlobalOptions *g, OutRecord *r);	/* and frees it */
extern void out_record_free(OutRecord *r);
/* print unless -q (JSON is always printed), then free */
extern void out_record_emit(const GlobalOptions *g, OutRecord *r);

/* Print the JSON text of a cJSON value and free it */
extern void out_json_print(struct cJSON *value);

#endif							/* PGCHANGE_OUTPUT_H */
