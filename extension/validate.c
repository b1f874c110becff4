/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  pgchange.validate(project, manifest): compare a changelog manifest
 *	  with the registry.
 *
 * Every deploy, status and validate of the controller calls it with the
 * whole changelog, so it is in C: one pass over the manifest checks each
 * entry as it is read, the project's registry rows are fetched once (in
 * execution order, the order missing rows are reported in) into a hash
 * table on the identity, and the rows go out without a join or a sort.
 * The PL/pgSQL version of 0.2.0 spent most of a no-op deploy of 10,000
 * changesets in a type-check pass, a CTE join and a sort.
 *
 * The results are the same as that version's, row for row: see
 * docs/sql-api.md for the statuses.  Since 0.4.0 an entry may also carry
 * the checksum of its rollback in the files, and rollback_drift says how
 * the stored one differs, so status and validate learn it in the same
 * statement instead of sending the manifest a second time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "pgchange.h"

PG_FUNCTION_INFO_V1(pgchange_validate);

/* An identity: (changeset_id, author, identity_path), not NUL-terminated */
typedef struct IdentityKey
{
	const char *part[3];
	int			len[3];
} IdentityKey;

/* registry columns, in the order of the query below */
enum
{
	COL_ID,
	COL_AUTHOR,
	COL_IPATH,
	COL_PATH,
	COL_CHECKSUM,
	COL_APPLIED_AT,
	COL_EXEC_TYPE,
	COL_ROLLBACK_CHECKSUM,
	COL_NCOLS
};

/* An applied changeset of the project, from the registry */
typedef struct AppliedRow
{
	IdentityKey key;
	Datum		values[COL_NCOLS];	/* the SPI row, deformed once */
	bool		nulls[COL_NCOLS];
	bool		matched;		/* some manifest entry has its identity */
} AppliedRow;

typedef struct AppliedEntry
{
	IdentityKey key;			/* hash key: must be first */
	AppliedRow *row;
} AppliedEntry;

/* A manifest entry, as read */
typedef struct FileEntry
{
	JsonbValue	id;
	JsonbValue	author;
	JsonbValue	checksum;
	const char *path;			/* "" when absent */
	int			pathlen;
	JsonbContainer *valid;		/* valid_checksums, if an array */
	bool		has_rollback;	/* rollback_checksum given: compare it */
	JsonbValue	rollback;		/* rollback_checksum: jbvString or jbvNull */
	AppliedRow *applied;		/* NULL when not applied */
} FileEntry;

/* result columns */
enum
{
	OUT_SEQ,
	OUT_ID,
	OUT_AUTHOR,
	OUT_PATH,
	OUT_STATUS,
	OUT_FILE_CHECKSUM,
	OUT_APPLIED_CHECKSUM,
	OUT_APPLIED_AT,
	OUT_EXEC_TYPE,
	OUT_ROLLBACK_DRIFT,
	OUT_NCOLS
};

static uint32
identity_hash(const void *key, Size keysize)
{
	const IdentityKey *k = (const IdentityKey *) key;
	uint32		h = 0;

	for (int i = 0; i < 3; i++)
		h = hash_combine(h, hash_bytes((const unsigned char *) k->part[i], k->len[i]));
	return h;
}

static int
identity_match(const void *key1, const void *key2, Size keysize)
{
	const IdentityKey *a = (const IdentityKey *) key1;
	const IdentityKey *b = (const IdentityKey *) key2;

	for (int i = 0; i < 3; i++)
		if (a->len[i] != b->len[i] || memcmp(a->part[i], b->part[i], a->len[i]) != 0)
			return 1;
	return 0;
}

/* The text of a manifest entry, for the error naming it */
static char *
entry_text(JsonbValue *v)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* A string member of an object: true and *out set if it is one */
static bool
string_member(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), out) != NULL &&
		out->type == jbvString;
}

/*
 * Read one manifest entry into fe; an entry that is not an object with
 * string id, author and checksum (and path, if present; rollback_checksum,
 * if present, a string or null) is an error.
 */
static void
read_entry(JsonbValue *v, FileEntry *fe)
{
	JsonbContainer *obj = NULL;
	JsonbValue	path;
	JsonbValue	valid;
	bool		ok;

	ok = v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
	if (ok)
	{
		obj = v->val.binary.data;
		ok = string_member(obj, "id", &fe->id) &&
			string_member(obj, "author", &fe->author) &&
			string_member(obj, "checksum", &fe->checksum);
	}
	if (ok && getKeyJsonValueFromContainer(obj, "path", 4, &path) != NULL)
	{
		ok = path.type == jbvString;
		fe->path = path.val.string.val;
		fe->pathlen = path.val.string.len;
	}
	else
	{
		fe->path = "";
		fe->pathlen = 0;
	}
	fe->has_rollback = ok &&
		getKeyJsonValueFromContainer(obj, "rollback_checksum", 17, &fe->rollback) != NULL;
	if (fe->has_rollback)
		ok = fe->rollback.type == jbvString || fe->rollback.type == jbvNull;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid manifest entry %s", entry_text(v)),
				 errdetail("Each entry needs string members id, author and checksum; path is a string if given, rollback_checksum a string or null.")));

	/* only an array can accept anything: as jsonb's @> would decide */
	fe->valid = NULL;
	if (getKeyJsonValueFromContainer(obj, "valid_checksums", 15, &valid) != NULL &&
		valid.type == jbvBinary && JsonContainerIsArray(valid.val.binary.data) &&
		!JsonContainerIsScalar(valid.val.binary.data))
		fe->valid = valid.val.binary.data;
}

/* Does valid_checksums hold the string s ("ANY", or the applied checksum)? */
static bool
valid_holds(JsonbContainer *valid, const char *s, int len)
{
	int			n = JsonContainerSize(valid);

	for (int i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(valid, i);

		if (v->type == jbvString && v->val.string.len == len &&
			memcmp(v->val.string.val, s, len) == 0)
			return true;
	}
	return false;
}

/* A text column of a registry row as a key part (never NULL: NOT NULL columns) */
static void
key_part(AppliedRow *r, int column, int part)
{
	text	   *t = DatumGetTextPP(r->values[column]);

	r->key.part[part] = VARDATA_ANY(t);
	r->key.len[part] = VARSIZE_ANY_EXHDR(t);
}

/* Copy a registry column into a result column */
static inline void
out_col(Datum *values, bool *nulls, int out, const AppliedRow *r, int column)
{
	values[out] = r->values[column];
	nulls[out] = r->nulls[column];
}

/* Is t the string s? */
static inline bool
text_is(text *t, const char *s)
{
	size_t		len = strlen(s);

	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/*
 * How the stored rollback of an applied changeset differs from the one in
 * the files, or NULL: not asked (no rollback_checksum in the entry), not
 * executed (mark_ran: nothing ran that a rollback would undo), or the same.
 */
static const char *
rollback_drift(const FileEntry *fe, const AppliedRow *r)
{
	bool		in_files = fe->rollback.type == jbvString;
	bool		stored = !r->nulls[COL_ROLLBACK_CHECKSUM];
	const char *drift;
	text	   *t;

	if (!fe->has_rollback || (!in_files && !stored))
		return NULL;
	if (!stored)
		drift = "added";
	else if (!in_files)
		drift = "removed";
	else
	{
		t = DatumGetTextPP(r->values[COL_ROLLBACK_CHECKSUM]);
		if ((int) VARSIZE_ANY_EXHDR(t) == fe->rollback.val.string.len &&
			memcmp(VARDATA_ANY(t), fe->rollback.val.string.val,
				   fe->rollback.val.string.len) == 0)
			return NULL;
		drift = "changed";
	}
	t = DatumGetTextPP(r->values[COL_EXEC_TYPE]);
	if (!text_is(t, "executed") && !text_is(t, "reran"))
		return NULL;
	return drift;
}

static Datum
jsonb_string_datum(const JsonbValue *v)
{
	return PointerGetDatum(cstring_to_text_with_len(v->val.string.val, v->val.string.len));
}

/*
 * pgchange.validate(project text, manifest jsonb) returns table (seq int,
 * changeset_id text, author text, path text, status text, file_checksum
 * text, applied_checksum text, applied_at timestamptz, exec_type text,
 * rollback_drift text)
 */
Datum
pgchange_validate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *manifest = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	Datum		project = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	char		project_null = PG_ARGISNULL(0) ? 'n' : ' ';
	Oid			argtypes[1] = {TEXTOID};
	bool		path_identity = false;
	int			nfiles;
	FileEntry  *files;
	AppliedRow *applied;
	int			napplied;
	TupleDesc	regdesc;
	HTAB	   *hash;
	HASHCTL		ctl;
	int			last_applied = -1;
	int			ret;

	if (manifest == NULL || !JB_ROOT_IS_ARRAY(manifest) || JB_ROOT_IS_SCALAR(manifest))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the manifest must be a JSON array"),
				 errhint("Pass [{\"id\": \"1\", \"author\": \"alice\", \"path\": \"a.sql\", \"checksum\": \"1:...\"}, ...].")));

	pgchange_init_srf(fcinfo);

	/* every entry is checked before anything else is read */
	nfiles = JsonContainerSize(&manifest->root);
	files = palloc0(sizeof(FileEntry) * Max(nfiles, 1));
	for (int i = 0; i < nfiles; i++)
		read_entry(getIthJsonbValueFromContainer(&manifest->root, i), &files[i]);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	ret = SPI_execute_with_args("SELECT identity_mode FROM pgchange.projects WHERE project = $1",
								1, argtypes, &project, &project_null, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the identity mode failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		char	   *mode = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		path_identity = mode != NULL && strcmp(mode, "path") == 0;
	}

	/* in execution order: the order the missing ones are reported in */
	ret = SPI_execute_with_args("SELECT changeset_id, author, identity_path, path, checksum, "
								"applied_at, exec_type, rollback_checksum FROM pgchange.registry "
								"WHERE project = $1 AND exec_type <> 'failed' ORDER BY exec_order",
								1, argtypes, &project, &project_null, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the registry failed: %s", SPI_result_code_string(ret));
	napplied = (int) SPI_processed;
	regdesc = SPI_tuptable->tupdesc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(IdentityKey);
	ctl.entrysize = sizeof(AppliedEntry);
	ctl.hash = identity_hash;
	ctl.match = identity_match;
	ctl.hcxt = CurrentMemoryContext;
	hash = hash_create("pgchange validate", Max(napplied, 16), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	applied = palloc0(sizeof(AppliedRow) * Max(napplied, 1));
	for (int i = 0; i < napplied; i++)
	{
		AppliedRow *r = &applied[i];
		AppliedEntry *e;
		bool		found;

		heap_deform_tuple(SPI_tuptable->vals[i], regdesc, r->values, r->nulls);
		key_part(r, COL_ID, 0);
		key_part(r, COL_AUTHOR, 1);
		key_part(r, COL_IPATH, 2);
		e = hash_search(hash, &r->key, HASH_ENTER, &found);
		e->row = r;				/* the primary key makes identities unique */
	}

	/* which entries are applied, and the last of them */
	for (int i = 0; i < nfiles; i++)
	{
		FileEntry  *fe = &files[i];
		IdentityKey key;
		AppliedEntry *e;

		key.part[0] = fe->id.val.string.val;
		key.len[0] = fe->id.val.string.len;
		key.part[1] = fe->author.val.string.val;
		key.len[1] = fe->author.val.string.len;
		key.part[2] = path_identity ? fe->path : "";
		key.len[2] = path_identity ? fe->pathlen : 0;
		e = hash_search(hash, &key, HASH_FIND, NULL);
		if (e)
		{
			fe->applied = e->row;
			e->row->matched = true;
			last_applied = i;
		}
	}

	/* one row per entry, in changelog order */
	for (int i = 0; i < nfiles; i++)
	{
		FileEntry  *fe = &files[i];
		AppliedRow *r = fe->applied;
		Datum		values[OUT_NCOLS];
		bool		nulls[OUT_NCOLS] = {false};
		const char *status;

		values[OUT_SEQ] = Int32GetDatum(i);
		values[OUT_ID] = jsonb_string_datum(&fe->id);
		values[OUT_AUTHOR] = jsonb_string_datum(&fe->author);
		values[OUT_PATH] = PointerGetDatum(cstring_to_text_with_len(fe->path, fe->pathlen));
		values[OUT_FILE_CHECKSUM] = jsonb_string_datum(&fe->checksum);
		if (r == NULL)
		{
			status = i < last_applied ? "out_of_order" : "pending";
			nulls[OUT_APPLIED_CHECKSUM] = nulls[OUT_APPLIED_AT] = nulls[OUT_EXEC_TYPE] = true;
			nulls[OUT_ROLLBACK_DRIFT] = true;
		}
		else
		{
			text	   *a = DatumGetTextPP(r->values[COL_CHECKSUM]);
			const char *as = VARDATA_ANY(a);
			int			alen = VARSIZE_ANY_EXHDR(a);
			const char *drift = rollback_drift(fe, r);

			if ((alen == fe->checksum.val.string.len &&
				 memcmp(as, fe->checksum.val.string.val, alen) == 0) ||
				(fe->valid && (valid_holds(fe->valid, "ANY", 3) ||
							   valid_holds(fe->valid, as, alen))))
				status = "ok";
			else
				status = "changed";
			values[OUT_APPLIED_CHECKSUM] = PointerGetDatum(a);
			out_col(values, nulls, OUT_APPLIED_AT, r, COL_APPLIED_AT);
			out_col(values, nulls, OUT_EXEC_TYPE, r, COL_EXEC_TYPE);
			if (drift)
				values[OUT_ROLLBACK_DRIFT] = CStringGetTextDatum(drift);
			else
				nulls[OUT_ROLLBACK_DRIFT] = true;
		}
		values[OUT_STATUS] = CStringGetTextDatum(status);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* then the applied ones no entry names, in the order they ran */
	for (int i = 0; i < napplied; i++)
	{
		AppliedRow *r = &applied[i];
		Datum		values[OUT_NCOLS];
		bool		nulls[OUT_NCOLS] = {false};

		if (r->matched)
			continue;
		nulls[OUT_SEQ] = nulls[OUT_FILE_CHECKSUM] = nulls[OUT_ROLLBACK_DRIFT] = true;
		out_col(values, nulls, OUT_ID, r, COL_ID);
		out_col(values, nulls, OUT_AUTHOR, r, COL_AUTHOR);
		out_col(values, nulls, OUT_PATH, r, COL_PATH);
		values[OUT_STATUS] = CStringGetTextDatum("missing_from_files");
		out_col(values, nulls, OUT_APPLIED_CHECKSUM, r, COL_CHECKSUM);
		out_col(values, nulls, OUT_APPLIED_AT, r, COL_APPLIED_AT);
		out_col(values, nulls, OUT_EXEC_TYPE, r, COL_EXEC_TYPE);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* the tuplestore holds copies: the SPI rows can go */
	SPI_finish();
	return (Datum) 0;
}
