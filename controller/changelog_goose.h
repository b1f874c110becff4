/*-------------------------------------------------------------------------
 *
 * changelog_goose.h
 *	  Reader for goose (v3) SQL migration files: one file, one changeset.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CHANGELOG_GOOSE_H
#define PGCHANGE_CHANGELOG_GOOSE_H

#include "changelog.h"

/*
 * True if the file name (a path's last component) has a goose version
 * prefix, digits then '_', and ends in ".sql"; *version (may be NULL)
 * receives the version.  Version 0 and overflowing versions are refused,
 * as goose refuses them.
 */
extern bool changelog_goose_is_migration_name(const char *filename,
											  int64 *version);

/*
 * Read one goose migration into one changeset appended to out: id is the
 * version without leading zeros, author "goose", comment the name after
 * the version, path logical_path or the file name.  The Up section becomes
 * body and statements, the Down section rollback and down_statements, both
 * split exactly as goose splits them.  Reports "FILE:LINE: ..." and
 * returns false on error, leaving out unchanged.
 */
extern bool changelog_goose_read(const char *path, const char *logical_path,
								 Changelog *out);

#endif							/* PGCHANGE_CHANGELOG_GOOSE_H */
