/*-------------------------------------------------------------------------
 *
 * changelog_sql.h
 *	  Reader for Liquibase "formatted SQL" changelog files, and the error
 *	  reporting and file reading every changelog reader shares.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CHANGELOG_SQL_H
#define PGCHANGE_CHANGELOG_SQL_H

#include "changelog.h"

/*
 * True if the file starts (after an optional UTF-8 BOM and blank lines)
 * with a "--liquibase formatted sql" header.  Never reports an error.
 */
extern bool changelog_sql_sniff(const char *path);

/*
 * Read one formatted SQL file and append its changesets to out, in file
 * order.
 *
 * logical_path: the path to record (NULL: path as given), unless the
 * header names its own logicalFilePath, which wins, as a changeset's own
 * logicalFilePath wins over both (Liquibase's order).  include_contexts / include_labels: from the including <include> /
 * <includeAll>, or NULL; they are ANDed with each changeset's own as
 * "(include) and (changeset)".  props: substitution properties, may be
 * NULL; global --property lines in the file are added to it, global:false
 * ones apply to this file only.
 *
 * On error, reports "FILE:LINE: ..." and returns false; out is then
 * unchanged (props may already hold the file's global properties).
 */
extern bool changelog_sql_read(const char *path, const char *logical_path,
							   const char *include_contexts,
							   const char *include_labels,
							   PropertyList *props, Changelog *out);

/*
 * Shared by the changelog readers (defined in changelog.c).
 *
 * changelog_error() logs "FILE:LINE: message" with pg_log_error (no line
 * part when line <= 0); changelog_hint() adds a hint to it.  Both are kept
 * until the next error, for unit tests: changelog_last_error() returns
 * "FILE:LINE: message", changelog_last_error_hint() the hint or "".
 */
extern void changelog_error(const char *file, int line, const char *fmt,...)
			pg_attribute_printf(3, 4);
extern void changelog_hint(const char *fmt,...) pg_attribute_printf(1, 2);
extern const char *changelog_last_error(void);
extern const char *changelog_last_error_hint(void);
extern void changelog_clear_error(void);

/*
 * Read a whole file into a palloc'd, NUL-terminated buffer; reports an
 * error naming the file and returns NULL if it cannot be read or holds a
 * NUL byte.
 */
extern char *changelog_read_file(const char *path, size_t *len);

/* Small string helpers the readers share (changelog.c). */
extern const char *cl_skip_ws(const char *s);
extern bool cl_is_blank(const char *s);
extern char *cl_trim(char *s);
extern bool cl_next_token(const char **p, char **key, char **value,
						  bool space_after_colon);
extern bool cl_parse_bool(const char *file, int line, const char *key,
						  const char *value, bool *out);

#endif							/* PGCHANGE_CHANGELOG_SQL_H */
