/*-------------------------------------------------------------------------
 *
 * changelog_master.c
 *	  What a Liquibase master changelog (databaseChangeLog in XML, YAML or
 *	  JSON) means: include, includeAll and property; changeSets and
 *	  preconditions are in changelog_changeset.c.
 *
 * The syntax readers hand over the same MasterNode tree for every format,
 * so the rules live here once.  Every attribute value is expanded with the
 * properties known at that point, as Liquibase expands each node before
 * handling it.  Anything this reader does not know is an error naming the
 * place, never silently skipped: a master that means more than pgchange
 * understands must not deploy half of itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <limits.h>

#include "changelog_root.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "filter_expr.h"
#include "lib/stringinfo.h"
#include "properties.h"

static const char *const include_keys[] = {
	"file", "relativeToChangelogFile", "errorIfMissing", "context",
	"contextFilter", "labels", "ignore", NULL
};
static const char *const include_all_keys[] = {
	"path", "relativeToChangelogFile", "errorIfMissingOrEmpty", "context",
	"contextFilter", "labels", "ignore", "minDepth", "maxDepth",
	"endsWithFilter", "filter", "resourceFilter", "resourceComparator", NULL
};
static const char *const property_keys[] = {
	"name", "value", "file", "relativeToChangelogFile", "errorIfMissing",
	"context", "contextFilter", "labels", "dbms", "global", NULL
};
/* A childless node */
MasterNode *
master_node_new(const char *name, int line)
{
	MasterNode *n = palloc0(sizeof(MasterNode));

	n->name = name ? pstrdup(name) : NULL;
	n->line = line;
	return n;
}

/* Append child to parent's children */
void
master_node_add(MasterNode *parent, MasterNode *child)
{
	if (parent->nchildren % 8 == 0)
		parent->children = parent->children
			? repalloc(parent->children, (parent->nchildren + 8) * sizeof(MasterNode *))
			: palloc(8 * sizeof(MasterNode *));
	parent->children[parent->nchildren++] = child;
}

/* Free a node and everything below it */
void
master_node_free(MasterNode *node)
{
	if (node == NULL)
		return;
	for (int i = 0; i < node->nchildren; i++)
		master_node_free(node->children[i]);
	if (node->children)
		pfree(node->children);
	if (node->name)
		pfree(node->name);
	if (node->value)
		pfree(node->value);
	if (node->where)
		pfree(node->where);
	pfree(node);
}

/* Report at a node: FILE:LINE, or FILE plus the JSON path */
void
master_error(MasterFile *mf, const MasterNode *n, const char *fmt,...)
{
	char		msg[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n && n->line <= 0 && n->where)
		changelog_error(mf->physical, 0, "%s: %s", n->where, msg);
	else
		changelog_error(mf->physical, n ? n->line : 0, "%s", msg);
}

/*
 * The place to name in messages about n that other files report: the file,
 * or for JSON (no lines) the file and the node's path.
 */
const char *
master_place(MasterFile *mf, const MasterNode *n)
{
	if (n->line <= 0 && n->where)
		return loader_keep(mf->ld, psprintf("%s: %s", mf->physical, n->where));
	return mf->physical;
}

/* A node's name for messages */
const char *
master_node_name(const MasterNode *n)
{
	return n->name ? n->name : "(list item)";
}

/* The first child called name, or NULL */
const MasterNode *
master_child(const MasterNode *n, const char *name)
{
	for (int i = 0; i < n->nchildren; i++)
		if (n->children[i]->name && strcmp(n->children[i]->name, name) == 0)
			return n->children[i];
	return NULL;
}

/* Every child of n must be one of keys */
bool
master_check_keys(MasterFile *mf, const MasterNode *n, const char *const *keys)
{
	for (int i = 0; i < n->nchildren; i++)
	{
		const MasterNode *c = n->children[i];
		bool		known = false;

		for (int k = 0; c->name && keys[k]; k++)
			if (strcmp(c->name, keys[k]) == 0)
				known = true;
		if (!known)
		{
			master_error(mf, c, "unknown attribute \"%s\" in %s", master_node_name(c), master_node_name(n));
			return false;
		}
	}
	return true;
}

/* Expand ${...} in a scalar with the global and this file's properties */
char *
master_expand(MasterFile *mf, const char *s)
{
	return loader_keep(mf->ld, properties_substitute_scoped(mf->ld->props, mf->local, s));
}

/* The expanded scalar value of attribute name (NULL if absent) */
bool
master_get_str(MasterFile *mf, const MasterNode *n, const char *name, char **out)
{
	const MasterNode *c = master_child(n, name);

	*out = NULL;
	if (c == NULL)
		return true;
	if (c->nchildren > 0)
	{
		master_error(mf, c, "\"%s\" in %s must be a single value", name, master_node_name(n));
		return false;
	}
	if (c->value)
		*out = master_expand(mf, c->value);
	return true;
}

/* A true / false attribute, def when absent */
bool
master_get_bool(MasterFile *mf, const MasterNode *n, const char *name,
				bool def, bool *out)
{
	char	   *s;

	*out = def;
	if (!master_get_str(mf, n, name, &s))
		return false;
	if (s == NULL)
		return true;
	if (pg_strcasecmp(s, "true") == 0)
		*out = true;
	else if (pg_strcasecmp(s, "false") == 0)
		*out = false;
	else
	{
		master_error(mf, master_child(n, name), "\"%s\" must be true or false, not \"%s\"", name, s);
		return false;
	}
	return true;
}

/* A non-negative integer attribute, def when absent */
static bool
get_int(MasterFile *mf, const MasterNode *n, const char *name, int def, int *out)
{
	char	   *s;
	char	   *end;
	long		v;

	*out = def;
	if (!master_get_str(mf, n, name, &s))
		return false;
	if (s == NULL)
		return true;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > INT_MAX)
	{
		master_error(mf, master_child(n, name), "\"%s\" must be a non-negative integer, not \"%s\"", name, s);
		return false;
	}
	*out = (int) v;
	return true;
}

/* contextFilter, or its older name context */
bool
master_get_context(MasterFile *mf, const MasterNode *n, char **out)
{
	if (!master_get_str(mf, n, "contextFilter", out))
		return false;
	if (*out == NULL || **out == '\0')
		return master_get_str(mf, n, "context", out);
	return true;
}

/* <property name= value= | file=>, global unless global="false" */
static bool
handle_property(MasterFile *mf, const MasterNode *n)
{
	char	   *name,
			   *value,
			   *file,
			   *context,
			   *labels,
			   *dbms;
	bool		global,
				relative,
				error_if_missing,
				applies;
	PropertyList *target;

	if (!master_check_keys(mf, n, property_keys) ||
		!master_get_str(mf, n, "name", &name) ||
		!master_get_str(mf, n, "value", &value) ||
		!master_get_str(mf, n, "file", &file) || !master_get_context(mf, n, &context) ||
		!master_get_str(mf, n, "labels", &labels) ||
		!master_get_str(mf, n, "dbms", &dbms) ||
		!master_get_bool(mf, n, "global", true, &global) ||
		!master_get_bool(mf, n, "relativeToChangelogFile", false, &relative) ||
		!master_get_bool(mf, n, "errorIfMissing", true, &error_if_missing))
		return false;
	if (!dbms_matches_postgresql(dbms))
		return true;			/* a property for another database */
	/* one the run's contexts or labels exclude is not defined at all */
	if (!properties_applies(mf->ld->props, context, labels, master_place(mf, n),
							n->line, &applies))
		return false;

	if (global)
		target = mf->ld->props;
	else
	{
		if (mf->local == NULL)
		{
			mf->local = palloc(sizeof(PropertyList));
			properties_init(mf->local);
		}
		target = mf->local;
	}

	if (file)
	{
		char	   *logical = loader_keep(mf->ld, loader_logical_path(mf->logical, file, relative));
		bool		failed;
		char	   *physical = loader_keep(mf->ld,
											   loader_find(mf->ld, logical, false,
														   master_place(mf, n),
														   n->line, &failed));

		if (failed)
			return false;
		if (physical == NULL)
		{
			if (!error_if_missing)
				return true;
			master_error(mf, n, "properties file \"%s\" not found in the search path", logical);
			return false;
		}
		return !applies || properties_read_file(target, physical, NULL, context);
	}
	if (name == NULL || value == NULL)
	{
		master_error(mf, n, "property needs name and value, or file");
		return false;
	}
	if (applies)
		properties_add(target, name, value, context);
	return true;
}

/* Mark changesets appended since 'from' as ignored (include ignore="true") */
static void
ignore_since(MasterFile *mf, int from)
{
	for (int i = from; i < mf->ld->out->count; i++)
		mf->ld->out->items[i]->ignore = true;
}

/* <include file=...>: one file, with the include's contexts and labels */
static bool
handle_include(MasterFile *mf, const MasterNode *n)
{
	char	   *file,
			   *context,
			   *labels;
	bool		relative,
				error_if_missing,
				ignore;
	char	   *logical;
	int			before = mf->ld->out->count;

	if (!master_check_keys(mf, n, include_keys) ||
		!master_get_str(mf, n, "file", &file) ||
		!master_get_context(mf, n, &context) ||
		!master_get_str(mf, n, "labels", &labels) ||
		!master_get_bool(mf, n, "relativeToChangelogFile", false, &relative) ||
		!master_get_bool(mf, n, "errorIfMissing", true, &error_if_missing) ||
		!master_get_bool(mf, n, "ignore", false, &ignore))
		return false;
	if (file == NULL || *file == '\0')
	{
		master_error(mf, n, "include needs a file");
		return false;
	}
	logical = loader_keep(mf->ld, loader_logical_path(mf->logical, file, relative));
	if (!loader_include(mf->ld, logical, error_if_missing,
						loader_keep(mf->ld, changelog_filter_and(mf->contexts, context)),
						loader_keep(mf->ld, changelog_filter_and(mf->labels, labels)),
						master_place(mf, n), n->line))
		return false;
	if (ignore)
		ignore_since(mf, before);
	return true;
}

/* <includeAll path=...>: every changelog file below a directory */
static bool
handle_include_all(MasterFile *mf, const MasterNode *n)
{
	char	   *path,
			   *context,
			   *labels,
			   *ends_with,
			   *filter,
			   *comparator;
	bool		relative,
				error_if_empty,
				ignore;
	int			min_depth,
				max_depth;
	int			before = mf->ld->out->count;

	if (!master_check_keys(mf, n, include_all_keys) ||
		!master_get_str(mf, n, "path", &path) ||
		!master_get_context(mf, n, &context) ||
		!master_get_str(mf, n, "labels", &labels) ||
		!master_get_str(mf, n, "endsWithFilter", &ends_with) ||
		!master_get_str(mf, n, "resourceFilter", &filter) ||
		!master_get_str(mf, n, "resourceComparator", &comparator) ||
		!master_get_bool(mf, n, "relativeToChangelogFile", false, &relative) ||
		!master_get_bool(mf, n, "errorIfMissingOrEmpty", true, &error_if_empty) ||
		!master_get_bool(mf, n, "ignore", false, &ignore) ||
		!get_int(mf, n, "minDepth", 1, &min_depth) ||
		!get_int(mf, n, "maxDepth", INT_MAX, &max_depth))
		return false;
	if (filter == NULL && !master_get_str(mf, n, "filter", &filter))
		return false;
	if (filter || comparator)
	{
		master_error(mf, n, "includeAll %s names a Java class, which pgchange cannot run",
					 filter ? "resourceFilter" : "resourceComparator");
		changelog_hint("Use endsWithFilter, minDepth and maxDepth, or list the files with include.");
		return false;
	}
	if (path == NULL || *path == '\0')
	{
		master_error(mf, n, "includeAll needs a path");
		return false;
	}
	if (ends_with)
	{
		/* Liquibase trims the filter */
		char	   *e = ends_with + strlen(ends_with);

		while (*ends_with == ' ' || *ends_with == '\t')
			ends_with++;
		while (e > ends_with && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
	}
	if (!loader_include_all(mf->ld,
							loader_keep(mf->ld, loader_logical_path(mf->logical, path, relative)),
							NULL, error_if_empty, min_depth, max_depth, ends_with,
							loader_keep(mf->ld, changelog_filter_and(mf->contexts, context)),
							loader_keep(mf->ld, changelog_filter_and(mf->labels, labels)),
							master_place(mf, n), n->line))
		return false;
	if (ignore)
		ignore_since(mf, before);
	return true;
}

/* Read one master: its properties, includes and changeSets, in order */
bool
master_read(Loader *ld, const char *physical, const char *logical,
			const char *contexts, const char *labels)
{
	MasterNode *root;
	MasterFile	mf;
	char	   *lfp;
	char	   *context;
	bool		ok = true;

	if (pg_strcasecmp(physical + strlen(physical) - 4, ".xml") == 0)
		root = changelog_xml_parse(physical);
	else if (pg_strcasecmp(physical + strlen(physical) - 5, ".json") == 0)
		root = changelog_json_parse(physical);
	else
		root = changelog_yaml_parse(physical);
	if (root == NULL)
		return false;

	memset(&mf, 0, sizeof(mf));
	mf.ld = ld;
	mf.physical = physical;
	mf.logical = logical;
	if (root->name == NULL || strcmp(root->name, "databaseChangeLog") != 0)
	{
		master_error(&mf, root, "a master changelog must be a databaseChangeLog, not %s",
					 master_node_name(root));
		master_node_free(root);
		return false;
	}

	/* changelog attributes apply to every child, wherever they are written */
	if (!master_get_str(&mf, root, "logicalFilePath", &lfp) ||
		!master_get_context(&mf, root, &context))
	{
		master_node_free(root);
		return false;
	}
	mf.cs_path = lfp ? loader_keep(ld, loader_logical_path(NULL, lfp, false))
		: (char *) logical;
	mf.contexts = loader_keep(ld, changelog_filter_and(contexts, context));
	mf.labels = (char *) labels;

	for (int i = 0; ok && i < root->nchildren; i++)
	{
		const MasterNode *c = root->children[i];
		const char *name = c->name ? c->name : "";

		if (strcmp(name, "property") == 0)
			ok = handle_property(&mf, c);
		else if (strcmp(name, "include") == 0)
			ok = handle_include(&mf, c);
		else if (strcmp(name, "includeAll") == 0)
			ok = handle_include_all(&mf, c);
		else if (strcmp(name, "changeSet") == 0)
			ok = master_changeset(&mf, c);
		else if (strcmp(name, "preConditions") == 0)
			ok = master_changelog_preconditions(&mf, c);
		else if (strcmp(name, "logicalFilePath") == 0 || strcmp(name, "context") == 0 ||
				 strcmp(name, "contextFilter") == 0 ||
				 strcmp(name, "objectQuotingStrategy") == 0)
			;					/* read above, or without effect on PostgreSQL */
		else
		{
			master_error(&mf, c, "unknown %s \"%s\" in databaseChangeLog",
						 c->is_attribute ? "attribute" : "element", master_node_name(c));
			ok = false;
		}
	}
	if (mf.local)
	{
		properties_free(mf.local);
		pfree(mf.local);
	}
	master_node_free(root);
	return ok;
}
