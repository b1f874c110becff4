/*-------------------------------------------------------------------------
 *
 * policy_settings.h
 *	  Checks-settings files: JSON with comments, read with cJSON and
 *	  validated against the rule catalogue (common/policy_catalog.c) before
 *	  they go anywhere: pgchange policy push, check --policy, deploy --policy.
 *
 * Errors name the place: "FILE:LINE: ..." for syntax, "FILE: $.rules.
 * "drop-table".severity: ..." (a JSON path, as the server's
 * pgchange.policy_push reports it) for content.  Every error of a file is
 * reported, not only the first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_POLICY_SETTINGS_H
#define PGCHANGE_POLICY_SETTINGS_H

#include <stdbool.h>

#include "policy_catalog.h"

struct cJSON;

/* Error messages collected while reading one document */
typedef struct PolicyErrors
{
	char	  **msgs;			/* palloc'd, each complete ("FILE: ...") */
	int			count;
	int			capacity;
} PolicyErrors;

extern void policy_errors_free(PolicyErrors *errs);

/*
 * Blank out // and block comments, outside strings, in place: each comment
 * character becomes a space except newlines, so offsets and line numbers
 * stay those of the file.  False (and *bad_line set) for an unterminated
 * block comment.
 */
extern bool policy_blank_comments(char *text, int *bad_line);

/*
 * Parse text (comments allowed) and validate it; where names the source in
 * messages.  global: the document may hold "projects" (the global settings,
 * or settings to lint with); a project's own document may not.  NULL when
 * there are errors (all of them in errs).
 */
extern struct cJSON *policy_settings_parse(const char *where, char *text,
										   bool global, PolicyErrors *errs);

/* Validate a parsed document; false when errs got messages */
extern bool policy_settings_validate(const struct cJSON *doc, bool global,
									 const char *where, PolicyErrors *errs);

/*
 * Read and validate a file; logs every error (pg_log_error) and returns
 * NULL on failure: the caller exits with the usage code.
 */
extern struct cJSON *policy_settings_load(const char *path, bool global);

/*
 * The severity a document sets for a rule when it is applied to project
 * (NULL: global only): its "rules" entry, overridden by the one under
 * "projects" -> project.  False when the document does not mention it.
 */
extern bool policy_settings_rule_severity(const struct cJSON *doc,
										  const char *project,
										  const char *rule,
										  PolicySeverity *severity);

#endif							/* PGCHANGE_POLICY_SETTINGS_H */
