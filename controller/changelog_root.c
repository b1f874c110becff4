/*-------------------------------------------------------------------------
 *
 * changelog_root.c
 *	  The changelog loader's entry point: the search path, finding the
 *	  root, dispatching each file to its reader (formatted SQL, raw SQL,
 *	  masters), goose directories, and the final check that no changeset
 *	  identity occurs twice.
 *
 * Every file is addressed by its logical path, the path Liquibase records
 * in databasechangelog.filename: relative to the search path entry it is
 * found in (see changelog_include.c for how includes resolve).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "changelog_goose.h"
#include "changelog_root.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "filter_expr.h"
#include "properties.h"

/* A goose migration file of a directory */
typedef struct GooseFile
{
	int64		version;
	char	   *name;
} GooseFile;

/* Does name end with suffix, ignoring case? */
bool
loader_ends_with_ci(const char *name, const char *suffix)
{
	size_t		n = strlen(name);
	size_t		m = strlen(suffix);

	return n >= m && pg_strcasecmp(name + n - m, suffix) == 0;
}

/* dir + "/" + rel, without "./" noise or doubled slashes */
char *
loader_join(const char *dir, const char *rel)
{
	size_t		n = strlen(dir);

	if (*rel == '\0')
		return pstrdup(dir);
	if (strcmp(dir, ".") == 0 || n == 0)
		return pstrdup(rel);
	if (dir[n - 1] == '/')
		return psprintf("%s%s", dir, rel);
	return psprintf("%s/%s", dir, rel);
}

/*
 * A .sql file that is not formatted SQL: Liquibase (SqlChangeLogParser)
 * makes the whole file one changeset, id "raw", author "includeAll", run
 * unsplit, comments kept, and refuses an empty file.
 */
static bool
read_raw_sql(Loader *ld, const char *physical, const char *logical,
			 const char *contexts, const char *labels)
{
	size_t		len;
	char	   *data = changelog_read_file(physical, &len);
	Changeset  *cs;

	if (data == NULL)
		return false;
	if (len == 0)
	{
		changelog_error(physical, 0, "empty file: it is neither formatted SQL nor a raw SQL changeset");
		changelog_hint("Liquibase refuses empty files as well; remove it or add \"--liquibase formatted sql\".");
		pfree(data);
		return false;
	}
	cs = changeset_new(CSF_LIQUIBASE_SQL);
	cs->id = pstrdup("raw");
	cs->author = pstrdup("includeAll");
	cs->path = pstrdup(logical);
	cs->file = pstrdup(physical);
	cs->line = 1;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		cs->body = pstrdup(data + 3);
	else
		cs->body = pstrdup(data);
	cs->body_line = 1;
	cs->split_statements = false;
	cs->strip_comments = false;
	cs->contexts = contexts ? pstrdup(contexts) : NULL;
	cs->labels = labels ? pstrdup(labels) : NULL;
	pfree(data);
	changelog_append(ld->out, cs);
	return true;
}

/*
 * The line of the file's "-- +goose Up" annotation, 0 if it has none, -1
 * after reporting that it cannot be read.
 */
static int
goose_up_line(const char *physical)
{
	size_t		len;
	char	   *data = changelog_read_file(physical, &len);
	int			lineno = 0;
	int			found = 0;

	if (data == NULL)
		return -1;
	for (char *p = data; *p && !found;)
	{
		char	   *eol = strchr(p, '\n');
		const char *q = cl_skip_ws(p);

		if (eol)
			*eol = '\0';
		lineno++;
		if (q[0] == '-' && q[1] == '-')
		{
			while (*q == '-' || *q == ' ' || *q == '\t')
				q++;
			if (strncmp(q, "+goose", 6) == 0 && pg_strncasecmp(cl_skip_ws(q + 6), "up", 2) == 0 &&
				cl_is_blank(cl_skip_ws(q + 6) + 2))
				found = lineno;
		}
		p = eol ? eol + 1 : p + strlen(p);
	}
	pfree(data);
	return found;
}

/*
 * A goose migration reached as plain SQL: read as Liquibase reads a .sql
 * file without the formatted SQL header (one raw changeset), its Down
 * section would run right after its Up.  Refuse it, saying where it is
 * included and how goose migrations are deployed.
 */
static void
report_goose_file(const char *physical, int upline, const char *errfile,
				  int errline)
{
	const char *slash = strrchr(physical, '/');
	char	   *dir = slash ? pnstrdup(physical, Max(slash - physical, 1)) : pstrdup(".");

	if (errfile == NULL)
	{
		changelog_error(physical, upline, "goose migration without a version in its file name");
		changelog_hint("Rename it <version>_<name>.sql, as goose names migrations (for example 00001_create_users.sql), or deploy its directory with pgchange deploy -c %s.", dir);
	}
	else
	{
		struct stat st;

		changelog_error(physical, upline, "goose migration in a Liquibase changelog");
		if (errline > 0)
			pg_log_error_detail("It is included at %s:%d; read as Liquibase reads a .sql file without the formatted SQL header, its Down section would run with its Up.",
								errfile, errline);
		else if (stat(errfile, &st) == 0 && S_ISDIR(st.st_mode))
			pg_log_error_detail("It is below the directory root %s, which is read as Liquibase's includeAll reads a directory; read as Liquibase reads a .sql file without the formatted SQL header, its Down section would run with its Up.",
								errfile);
		else
			pg_log_error_detail("It is included by %s; read as Liquibase reads a .sql file without the formatted SQL header, its Down section would run with its Up.",
								errfile);
		changelog_hint("A goose migrations directory is a root of its own: deploy it with pgchange deploy -c %s (with its own --project if it shares the database), and remove it from the Liquibase changelog.", dir);
	}
	pfree(dir);
}

/* Read one file by its kind; a file including itself is an error */
bool
loader_read_file(Loader *ld, const char *physical, const char *logical,
				 const char *contexts, const char *labels,
				 const char *errfile, int errline)
{
	char	   *real = realpath(physical, NULL);
	char	   *key = pstrdup(real ? real : physical);
	bool		ok;

	free(real);
	for (int i = 0; i < ld->depth; i++)
	{
		if (strcmp(ld->stack[i], key) == 0)
		{
			changelog_error(physical, 0, "circular include: the file includes itself through %s",
							ld->depth > 0 ? ld->stack[ld->depth - 1] : physical);
			pfree(key);
			return false;
		}
	}
	if (ld->depth % 16 == 0)
		ld->stack = ld->stack ? repalloc(ld->stack, (ld->depth + 16) * sizeof(char *))
			: palloc((ld->depth + 16) * sizeof(char *));
	ld->stack[ld->depth++] = key;

	if (loader_ends_with_ci(physical, ".sql"))
	{
		int			upline;

		if (changelog_sql_sniff(physical))
			ok = changelog_sql_read(physical, logical, contexts, labels,
									ld->props, ld->out);
		else if ((upline = goose_up_line(physical)) != 0)
		{
			if (upline > 0)
				report_goose_file(physical, upline, errfile, errline);
			ok = false;
		}
		else
			ok = read_raw_sql(ld, physical, logical, contexts, labels);
	}
	else if (loader_ends_with_ci(physical, ".xml") ||
			 loader_ends_with_ci(physical, ".yaml") ||
			 loader_ends_with_ci(physical, ".yml") ||
			 loader_ends_with_ci(physical, ".json"))
		ok = master_read(ld, physical, logical, contexts, labels);
	else
	{
		changelog_error(physical, 0, "not a changelog format pgchange reads");
		changelog_hint("Changelogs are .sql (formatted or raw), .xml, .yaml, .yml or .json files.");
		ok = false;
	}

	ld->depth--;
	pfree(key);
	return ok;
}

/* Does the file mention a goose annotation ("-- +goose Up" and friends)? */
static bool
has_goose_annotation(const char *physical)
{
	size_t		len;
	char	   *data = changelog_read_file(physical, &len);
	bool		found = false;

	if (data == NULL)
		return false;
	for (size_t i = 0; !found && i + 6 <= len; i++)
		if (data[i] == '+' && pg_strncasecmp(data + i, "+goose", 6) == 0)
			found = true;
	pfree(data);
	return found;
}

/* Does name look like a goose migration, NNN_name.ext? */
static bool
has_version_prefix(const char *name)
{
	const char *p = name;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > name && *p == '_';
}

/* qsort: by version, then name (duplicates end up side by side) */
static int
goosefile_cmp(const void *a, const void *b)
{
	const GooseFile *x = a;
	const GooseFile *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * A directory of goose migrations: its own NNN_name.sql files (goose does
 * not recurse) in ascending version order.  *is_goose is false, and
 * nothing is read, when no such file carries a +goose annotation.
 */
static bool
read_goose_dir(Loader *ld, const char *phys_dir, const char *logical_dir,
			   bool *is_goose)
{
	DIR		   *dir = opendir(phys_dir);
	struct dirent *de;
	GooseFile  *files = NULL;
	int			nfiles = 0;
	bool		ok = true;

	*is_goose = false;
	if (dir == NULL)
	{
		changelog_error(phys_dir, 0, "could not open directory: %m");
		return false;
	}
	while ((de = readdir(dir)) != NULL)
	{
		int64		version;
		char	   *phys;
		struct stat st;

		if (!has_version_prefix(de->d_name))
			continue;
		phys = loader_join(phys_dir, de->d_name);
		if (stat(phys, &st) == 0 && S_ISREG(st.st_mode))
		{
			if (loader_ends_with_ci(de->d_name, ".go"))
			{
				/* reported below, once the directory is known to be goose's */
				files = files ? repalloc(files, (nfiles + 1) * sizeof(GooseFile))
					: palloc(sizeof(GooseFile));
				files[nfiles].version = -1;
				files[nfiles++].name = pstrdup(de->d_name);
			}
			else if (loader_ends_with_ci(de->d_name, ".sql") &&
					 changelog_goose_is_migration_name(de->d_name, &version))
			{
				if (!*is_goose && has_goose_annotation(phys))
					*is_goose = true;
				files = files ? repalloc(files, (nfiles + 1) * sizeof(GooseFile))
					: palloc(sizeof(GooseFile));
				files[nfiles].version = version;
				files[nfiles++].name = pstrdup(de->d_name);
			}
		}
		pfree(phys);
	}
	closedir(dir);

	if (*is_goose && nfiles > 1)
		qsort(files, nfiles, sizeof(GooseFile), goosefile_cmp);
	for (int i = 0; *is_goose && ok && i < nfiles; i++)
	{
		char	   *phys = loader_join(phys_dir, files[i].name);
		char	   *logical = *logical_dir ? psprintf("%s/%s", logical_dir, files[i].name)
			: pstrdup(files[i].name);

		if (files[i].version < 0)
		{
			changelog_error(phys, 0, "goose Go migration: pgchange runs SQL migrations only");
			changelog_hint("Rewrite it as a .sql migration, or apply it with goose before pgchange takes over.");
			ok = false;
		}
		else if (i > 0 && files[i].version == files[i - 1].version)
		{
			changelog_error(phys, 0, "goose version " INT64_FORMAT " is also used by %s",
							files[i].version, files[i - 1].name);
			changelog_hint("Every goose migration needs its own version number.");
			ok = false;
		}
		else
			ok = changelog_goose_read(phys, logical, ld->out);
		pfree(phys);
		pfree(logical);
	}
	for (int i = 0; i < nfiles; i++)
		pfree(files[i].name);
	if (files)
		pfree(files);
	return ok;
}

/*
 * The search path: the user's entries, or the current directory and then
 * the root's directory (the root itself when it is a directory).  Entries
 * that resolve to the same directory are kept once.
 */
static void
build_search_path(Loader *ld)
{
	const ChangelogOptions *opts = ld->opts;
	char	  **entries;
	int			n = 0;
	char	  **reals;

	if (opts->search_path && opts->nsearch_path > 0)
	{
		entries = palloc(opts->nsearch_path * sizeof(char *));
		for (int i = 0; i < opts->nsearch_path; i++)
			if (opts->search_path[i] && *opts->search_path[i])
				entries[n++] = pstrdup(opts->search_path[i]);
	}
	else
	{
		struct stat st;
		const char *slash = strrchr(opts->root, '/');

		entries = palloc(2 * sizeof(char *));
		entries[n++] = pstrdup(".");
		if (stat(opts->root, &st) == 0 && S_ISDIR(st.st_mode))
			entries[n++] = pstrdup(opts->root);
		else if (slash == opts->root)
			entries[n++] = pstrdup("/");
		else if (slash)
			entries[n++] = pnstrdup(opts->root, slash - opts->root);
	}

	reals = palloc0(n * sizeof(char *));
	ld->search_path = palloc(n * sizeof(char *));
	ld->nsearch_path = 0;
	for (int i = 0; i < n; i++)
	{
		bool		dup = false;

		reals[i] = realpath(entries[i], NULL);
		if (reals[i] == NULL)
		{
			pg_log_warning("search path entry \"%s\" is not a directory, ignored", entries[i]);
			continue;			/* freed below */
		}
		for (int j = 0; j < i; j++)
			if (reals[j] && strcmp(reals[i], reals[j]) == 0)
				dup = true;
		if (!dup)
			ld->search_path[ld->nsearch_path++] = entries[i];
		else
			pfree(entries[i]);
	}
	for (int i = 0; i < n; i++)
		if (reals[i])
			free(reals[i]);
		else
			pfree(entries[i]);
	pfree(reals);
	pfree(entries);
}

/*
 * Find the root.  Like Liquibase's --changelog-file it is a path in the
 * search path; a file-system path inside a search path entry works too,
 * its logical path being its place under that entry.
 */
static bool
resolve_root(Loader *ld, char **physical, char **logical, bool *is_dir)
{
	const char *root = ld->opts->root;
	char	   *lg = loader_logical_path(NULL, root, false);
	bool		failed;
	char	   *phys;
	struct stat st;

	*is_dir = false;
	phys = NULL;
	failed = false;

	/* "../x" escapes every entry: then only its real place can name it */
	if (strcmp(lg, "..") != 0 && strncmp(lg, "../", 3) != 0)
	{
		phys = loader_find(ld, lg, false, root, 0, &failed);
		if (!failed && phys == NULL)
		{
			phys = loader_find(ld, lg, true, root, 0, &failed);
			*is_dir = (phys != NULL);
		}
	}
	if (failed)
	{
		pfree(lg);
		return false;
	}
	if (phys)
	{
		*physical = phys;
		*logical = lg;
		return true;
	}
	pfree(lg);

	if (stat(root, &st) == 0)
	{
		char	   *real = realpath(root, NULL);

		for (int i = 0; real && i < ld->nsearch_path; i++)
		{
			char	   *entry = realpath(ld->search_path[i], NULL);
			size_t		n = entry ? strlen(entry) : 0;

			if (entry && strncmp(real, entry, n) == 0 &&
				(real[n] == '/' || real[n] == '\0' || strcmp(entry, "/") == 0))
			{
				*physical = pstrdup(root);
				*logical = loader_logical_path(NULL, real + n, false);
				*is_dir = S_ISDIR(st.st_mode);
				free(entry);
				free(real);
				return true;
			}
			free(entry);
		}
		free(real);
		changelog_error(root, 0, "the changelog root is not inside the search path");
		changelog_hint("Give a search path entry that contains it (--search-path), or the root as a path relative to one.");
		return false;
	}
	changelog_error(root, 0, "changelog not found in the search path");
	return false;
}

/* Order changesets by identity (then position) for the duplicate check */
static int
identity_cmp(const void *a, const void *b, void *arg)
{
	const Changeset *x = *(Changeset *const *) a;
	const Changeset *y = *(Changeset *const *) b;
	bool		with_path = *(bool *) arg;
	int			c;

	c = strcmp(x->id ? x->id : "", y->id ? y->id : "");
	if (c == 0)
		c = strcmp(x->author ? x->author : "", y->author ? y->author : "");
	if (c == 0 && with_path)
		c = strcmp(x->path ? x->path : "", y->path ? y->path : "");
	return c;
}

/* Index of a changeset in the changelog (pointers are unique) */
static int
position_of(const Changelog *cl, const Changeset *cs)
{
	for (int i = 0; i < cl->count; i++)
		if (cl->items[i] == cs)
			return i;
	return -1;
}

/*
 * Every identity once: (id, author), or (path, id, author) in path mode.
 * Each duplicate names both places; a summary error carries the hint.
 */
static bool
check_duplicates(Loader *ld)
{
	Changelog  *cl = ld->out;
	bool		with_path = ld->opts->path_in_identity;
	Changeset **sorted;
	int		   *dup_of;
	int			ndups = 0;
	bool		cross_file = false;
	bool		same_file = false;

	if (cl->count < 2)
		return true;
	sorted = palloc(cl->count * sizeof(Changeset *));
	memcpy(sorted, cl->items, cl->count * sizeof(Changeset *));
	qsort_arg(sorted, cl->count, sizeof(Changeset *), identity_cmp, &with_path);

	/* dup_of[i]: position of the first changeset with i's identity, or -1 */
	dup_of = palloc(cl->count * sizeof(int));
	for (int i = 0; i < cl->count; i++)
		dup_of[i] = -1;
	for (int i = 0; i < cl->count;)
	{
		int			j = i + 1;
		int			first;

		while (j < cl->count && identity_cmp(&sorted[i], &sorted[j], &with_path) == 0)
			j++;
		if (j - i > 1)
		{
			first = position_of(cl, sorted[i]);
			for (int k = i + 1; k < j; k++)
				first = Min(first, position_of(cl, sorted[k]));
			for (int k = i; k < j; k++)
			{
				int			pos = position_of(cl, sorted[k]);

				if (pos != first)
					dup_of[pos] = first;
			}
		}
		i = j;
	}

	for (int i = 0; i < cl->count; i++)
	{
		const Changeset *dup;
		const Changeset *orig;

		if (dup_of[i] < 0)
			continue;
		dup = cl->items[i];
		orig = cl->items[dup_of[i]];
		ndups++;
		if (strcmp(dup->path ? dup->path : "", orig->path ? orig->path : "") != 0)
			cross_file = true;
		else if (dup->file && orig->file && strcmp(dup->file, orig->file) == 0 &&
				 dup->line == orig->line)
			same_file = true;
		changelog_error(dup->file, dup->line,
						"duplicate changeset %s:%s (%s), first defined at %s:%d (%s)",
						dup->author ? dup->author : "", dup->id ? dup->id : "",
						dup->path ? dup->path : "", orig->file, orig->line,
						orig->path ? orig->path : "");
	}
	pfree(dup_of);
	pfree(sorted);
	if (ndups == 0)
		return true;

	changelog_error(ld->opts->root, 0, "%d changeset%s duplicate%s an identity defined earlier",
					ndups, ndups == 1 ? "" : "s", ndups == 1 ? "s" : "");
	if (!with_path && cross_file)
	{
		pg_log_error_detail("The changelog reuses changeset ids across files, as Liquibase allows: Liquibase's identity includes the file path.");
		changelog_hint("Set the project's identity mode to path: pgchange deploy --identity=path.");
	}
	else if (same_file)
		changelog_hint("A file is included twice (its paths normalise to the same one, as in Liquibase 4); include it once.");
	else
		changelog_hint("Give each changeset its own author:id.");
	return false;
}

/* See changelog_root.h */
bool
changelog_load(const ChangelogOptions *opts, Changelog *out)
{
	Loader		ld;
	Changelog	loaded = {0};
	PropertyList empty;
	const char *saved_contexts;
	const char *saved_labels;
	char	   *physical = NULL;
	char	   *logical = NULL;
	bool		is_dir;
	bool		ok;

	if (opts->root == NULL || *opts->root == '\0')
	{
		pg_log_error("no changelog given");
		return false;
	}
	if (opts->labels && !cl_is_blank(opts->labels))
	{
		FilterExpr *e;
		char	   *err;

		/* properties with labels are matched while reading: check it now */
		if (!filter_expr_parse(opts->labels, &e, &err))
		{
			pg_log_error("invalid label expression \"%s\": %s", opts->labels, err);
			pfree(err);
			return false;
		}
		filter_expr_free(e);
	}
	memset(&ld, 0, sizeof(ld));
	ld.opts = opts;
	ld.out = &loaded;
	properties_init(&empty);
	ld.props = opts->props ? opts->props : &empty;
	saved_contexts = ld.props->run_contexts;
	saved_labels = ld.props->run_labels;
	ld.props->run_contexts = opts->contexts;
	ld.props->run_labels = opts->labels;
	if (opts->environment)
		properties_add_environment(ld.props);
	build_search_path(&ld);

	ok = resolve_root(&ld, &physical, &logical, &is_dir);
	if (ok && is_dir)
	{
		bool		is_goose;

		ok = read_goose_dir(&ld, physical, logical, &is_goose);
		if (ok && !is_goose)
			ok = loader_include_all(&ld, logical, physical, true, 1, INT_MAX,
									NULL, NULL, NULL, physical, 0);
	}
	else if (ok)
	{
		const char *base = strrchr(physical, '/');
		int64		version;

		base = base ? base + 1 : physical;
		if (loader_ends_with_ci(physical, ".sql") && !changelog_sql_sniff(physical) &&
			changelog_goose_is_migration_name(base, &version) &&
			has_goose_annotation(physical))
			ok = changelog_goose_read(physical, logical, &loaded);
		else
			ok = loader_read_file(&ld, physical, logical, NULL, NULL, NULL, 0);
	}
	if (ok)
		ok = check_duplicates(&ld);

	/* all or nothing: out gets the changesets only when everything is read */
	if (ok)
	{
		for (int i = 0; i < loaded.count; i++)
			changelog_append(out, loaded.items[i]);
		if (loaded.items)
			pfree(loaded.items);
	}
	else
		changelog_free(&loaded);

	for (int i = 0; i < ld.ngarbage; i++)
		if (ld.garbage[i])
			pfree(ld.garbage[i]);
	if (ld.garbage)
		pfree(ld.garbage);
	for (int i = 0; i < ld.nsearch_path; i++)
		pfree(ld.search_path[i]);
	pfree(ld.search_path);
	if (ld.stack)
		pfree(ld.stack);
	if (physical)
		pfree(physical);
	if (logical)
		pfree(logical);
	/* the caller's list outlives the options it was filtered by */
	ld.props->run_contexts = saved_contexts;
	ld.props->run_labels = saved_labels;
	properties_free(&empty);
	return ok;
}

void *
loader_keep(Loader *ld, void *p)
{
	if (p == NULL)
		return NULL;
	if (ld->ngarbage % 64 == 0)
		ld->garbage = ld->garbage
			? repalloc(ld->garbage, (ld->ngarbage + 64) * sizeof(void *))
			: palloc(64 * sizeof(void *));
	ld->garbage[ld->ngarbage++] = p;
	return p;
}
