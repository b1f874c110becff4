/*-------------------------------------------------------------------------
 *
 * changelog_root.h
 *	  Loading a whole changelog from its root: a formatted-SQL file, a
 *	  goose migration or directory, or a Liquibase master (XML, YAML, JSON)
 *	  with include / includeAll / property, resolved with Liquibase 4.28's
 *	  search-path rules into one ordered Changelog.
 *
 * The second half of this header is internal to the loader, shared by
 * changelog_root.c (root, file kinds, goose directories, duplicates),
 * changelog_include.c (logical paths, search path, include, includeAll),
 * changelog_master.c and changelog_changeset.c (what a databaseChangeLog
 * means) and the three syntax readers changelog_xml.c, changelog_yaml.c
 * and changelog_json.c, which all turn their format into the same
 * MasterNode tree.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CHANGELOG_ROOT_H
#define PGCHANGE_CHANGELOG_ROOT_H

#include "changelog.h"

typedef struct ChangelogOptions
{
	const char *root;			/* file or directory given by the user (-c) */

	/*
	 * Liquibase --search-path entries; NULL (or nsearch_path 0) means the
	 * current directory, then the root's own directory (the directory
	 * itself when root is one).
	 */
	const char **search_path;
	int			nsearch_path;

	PropertyList *props;		/* -D name=value and defaults file, filled;
								 * global properties of masters are added */
	bool		path_in_identity;	/* project mode, see changelog.h */

	/*
	 * The run's --contexts (a list) and --labels (an expression), NULL for
	 * none: as in Liquibase, a property with a context or labels is defined
	 * only when they match, and none given means every one matches.
	 * Changesets are filtered later, by the plan.
	 */
	const char *contexts;
	const char *labels;
	bool		environment;	/* environment variables are properties,
								 * ahead of props (Liquibase's order) */
} ChangelogOptions;

/*
 * Read the changelog rooted at opts->root and append its changesets to out,
 * in deploy order.  Errors are reported ("FILE:LINE: ...", with hints) and
 * make it return false, leaving out as it was.
 */
extern bool changelog_load(const ChangelogOptions *opts, Changelog *out);

/* ------------------------------------------------------------------ */
/* Internal to the loader											  */
/* ------------------------------------------------------------------ */

/*
 * One node of a parsed master, the same for every syntax (like Liquibase's
 * ParsedNode): an XML element or attribute, or a YAML / JSON key.  A
 * sequence item that is a one-key mapping becomes a node named by that
 * key, so "- include: {file: x}" and <include file="x"/> look alike.
 */
typedef struct MasterNode
{
	char	   *name;			/* element, attribute or key; NULL for a
								 * bare sequence item */
	char	   *value;			/* scalar text (XML: the element's text) */
	struct MasterNode **children;
	int			nchildren;
	bool		is_sequence;	/* YAML / JSON list (children are its items) */
	bool		is_element;		/* XML element */
	bool		is_attribute;	/* XML attribute */
	int			line;			/* 1-based; 0 when unknown (JSON) */
	char	   *where;			/* JSON: path such as
								 * databaseChangeLog[3].include.file */
} MasterNode;

extern MasterNode *master_node_new(const char *name, int line);
extern void master_node_add(MasterNode *parent, MasterNode *child);
extern void master_node_free(MasterNode *node);

/* Syntax readers: the document's root node, or NULL after reporting */
extern MasterNode *changelog_xml_parse(const char *file);
extern MasterNode *changelog_yaml_parse(const char *file);
extern MasterNode *changelog_json_parse(const char *file);

/* State of one changelog_load() */
typedef struct Loader
{
	const ChangelogOptions *opts;
	char	  **search_path;	/* entries as given (or the defaults) */
	int			nsearch_path;
	PropertyList *props;		/* global properties; masters add to it */
	Changelog  *out;
	char	  **stack;			/* physical paths being read, for cycles */
	int			depth;
	void	  **garbage;		/* temporaries, freed when the load ends */
	int			ngarbage;
} Loader;

/*
 * Keep a palloc'd temporary (NULL is fine) until the load ends, and return
 * it: values read from masters are passed around freely that way, and
 * copied where a Changeset keeps them.
 */
extern void *loader_keep(Loader *ld, void *p);

/* Small path helpers shared by the loader's files */
extern bool loader_ends_with_ci(const char *name, const char *suffix);
extern char *loader_join(const char *dir, const char *rel);

/*
 * Read one file (formatted / raw SQL or a master), found by logical path;
 * errfile:errline is the include that names it, for messages (NULL for
 * the root).
 */
extern bool loader_read_file(Loader *ld, const char *physical,
							 const char *logical, const char *contexts,
							 const char *labels, const char *errfile,
							 int errline);

/*
 * The logical path of an include: relative paths are joined to the
 * including file's directory, and the result is normalised (no "./",
 * "../", "//" or leading "/"), as Liquibase 4.x does.
 */
extern char *loader_logical_path(const char *including_logical,
								 const char *path, bool relative);

/*
 * Find a logical path in the search path: the physical path, or NULL.  A
 * path found as two different files in two entries is an error
 * (Liquibase's duplicateFileMode=ERROR); *failed tells it from "missing".
 */
extern char *loader_find(Loader *ld, const char *logical, bool want_dir,
						 const char *errfile, int errline, bool *failed);

/* <include>: read one file */
extern bool loader_include(Loader *ld, const char *logical,
						   bool error_if_missing, const char *contexts,
						   const char *labels, const char *errfile,
						   int errline);

/*
 * <includeAll>: read every changelog file under a directory, ordered by
 * logical path.  The directory is looked up in every search path entry,
 * or is physical_dir alone when that is given (a directory root).
 */
extern bool loader_include_all(Loader *ld, const char *logical_dir,
							   const char *physical_dir, bool error_if_empty,
							   int min_depth, int max_depth,
							   const char *ends_with, const char *contexts,
							   const char *labels, const char *errfile,
							   int errline);

/* Interpret a parsed master (changelog_master.c) */
extern bool master_read(Loader *ld, const char *physical, const char *logical,
						const char *contexts, const char *labels);

/* One master being read (changelog_master.c, changelog_changeset.c) */
typedef struct MasterFile
{
	Loader	   *ld;
	const char *physical;
	const char *logical;		/* resource path: includes resolve from it */
	char	   *cs_path;		/* path recorded for its own changeSets */
	char	   *contexts;		/* inherited and changelog-level contexts */
	char	   *labels;			/* inherited labels */
	PropertyList *local;		/* global="false" properties, or NULL */
} MasterFile;

/* Report at a node: FILE:LINE, or FILE plus the JSON path */
extern void master_error(MasterFile *mf, const MasterNode *n, const char *fmt,...)
			pg_attribute_printf(3, 4);
extern const char *master_node_name(const MasterNode *n);
extern const char *master_place(MasterFile *mf, const MasterNode *n);
extern const MasterNode *master_child(const MasterNode *n, const char *name);

/* Every child of n must be one of keys */
extern bool master_check_keys(MasterFile *mf, const MasterNode *n,
							  const char *const *keys);

/* ${...} expanded with the global and the file's own properties (kept) */
extern char *master_expand(MasterFile *mf, const char *s);

/* Attribute values, expanded and kept; false (after reporting) if malformed */
extern bool master_get_str(MasterFile *mf, const MasterNode *n,
						   const char *name, char **out);
extern bool master_get_bool(MasterFile *mf, const MasterNode *n,
							const char *name, bool def, bool *out);
extern bool master_get_context(MasterFile *mf, const MasterNode *n, char **out);

/* changelog_changeset.c */
extern bool master_changeset(MasterFile *mf, const MasterNode *n);
extern bool master_changelog_preconditions(MasterFile *mf, const MasterNode *n);

#endif							/* PGCHANGE_CHANGELOG_ROOT_H */
