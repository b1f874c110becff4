/*-------------------------------------------------------------------------
 *
 * properties.h
 *	  Changelog properties (Liquibase "changelog parameters") and ${name}
 *	  substitution, with Liquibase's rules: the first definition of a name
 *	  that the run's contexts, labels and dbms allow wins, names match
 *	  case-insensitively, and an unknown ${x} is left as written.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_PROPERTIES_H
#define PGCHANGE_PROPERTIES_H

#include "changelog.h"

extern void properties_init(PropertyList *pl);
extern void properties_free(PropertyList *pl);

/*
 * Add a definition.  Every definition is kept (with its context, NULL for
 * any), but lookups return the first one, so the first definition wins.
 */
extern void properties_add(PropertyList *pl, const char *name,
						   const char *value, const char *context);

/*
 * Does a definition with this context expression and label list (either
 * may be NULL) apply under the run's filter, pl->run_contexts and
 * pl->run_labels?  As in Liquibase, no --contexts means every context
 * matches ("@x" included), and labels are matched as a changeset's are
 * (no --labels: all but a required "@x" label).  Sets *applies; reports a
 * malformed expression at FILE:LINE and returns false.
 */
extern bool properties_applies(const PropertyList *pl, const char *context,
							   const char *labels, const char *file,
							   int line, bool *applies);

/*
 * Put the process environment at the front of pl, ahead of every
 * definition already there (-D) and to come (the changelog's): Liquibase
 * reads environment variables as changelog parameters, first of all.
 */
extern void properties_add_environment(PropertyList *pl);

/* The first definition of name (case-insensitive), or NULL */
extern const char *properties_get(const PropertyList *pl, const char *name);

/* The last definition of name, which is how Liquibase resolves local ones */
extern const char *properties_get_last(const PropertyList *pl,
									   const char *name);

/*
 * Replace ${name} in text and return a palloc'd copy.  Values are expanded
 * in turn; unknown and unterminated expressions stay as written.
 */
extern char *properties_substitute(const PropertyList *pl, const char *text);

/*
 * The same with a second, file-local list (--property ... global:false).
 * As in Liquibase, global definitions are looked up first; among local
 * ones the last definition wins.  Either list may be NULL.
 */
extern char *properties_substitute_scoped(const PropertyList *global,
										  const PropertyList *local,
										  const char *text);

/*
 * Apply one formatted-SQL "--property name:N value:V [context:C]
 * [labels:L] [dbms:D] [global:true|false]" line; args is the text after
 * "property".  Global definitions go to global, global:false ones to
 * local; a definition whose dbms excludes PostgreSQL, or whose context or
 * labels global's run filter excludes, is dropped.  Name, value, context
 * and labels are substituted first.  Reports FILE:LINE errors.
 */
extern bool properties_parse_directive(const char *args, PropertyList *global,
									   PropertyList *local, const char *file,
									   int line);

/*
 * Read a Liquibase defaults file (Java properties syntax): each
 * "parameter.NAME=value" becomes property NAME; other keys are ignored.
 * Reports a missing file with pg_log_error and returns false.
 */
extern bool properties_read_defaults_file(PropertyList *pl, const char *path);
/* A Java properties file (java.util.Properties syntax: escapes, continued
 * lines, a leading BOM skipped): every key starting with prefix (NULL: all),
 * without it, defined with context (NULL: any) */
extern bool properties_read_file(PropertyList *pl, const char *path,
								 const char *prefix, const char *context);

#endif							/* PGCHANGE_PROPERTIES_H */
