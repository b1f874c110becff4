/*-------------------------------------------------------------------------
 *
 * changelog_include.c
 *	  Liquibase 4.28's path rules for the changelog loader: logical paths,
 *	  lookup in the search path, <include> and <includeAll>.
 *
 * A path is looked up in every search path entry; the same logical path
 * naming two different files is an error, as with Liquibase's default
 * duplicateFileMode=ERROR.  includeAll orders files by their full logical
 * path, as Liquibase's default comparator does, so files of a
 * subdirectory interleave with their siblings ("b-x.sql" < "b.sql" <
 * "b/c.sql").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>

#include "changelog_root.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "lib/stringinfo.h"

/* A file found by includeAll: where it is and what it is called */
typedef struct FoundFile
{
	char	   *logical;
	char	   *physical;
} FoundFile;

typedef struct FileList
{
	FoundFile  *items;
	int			count;
	int			capacity;
} FileList;

/* includeAll's walk: directories on the current descent, against loops */
#define MAX_WALK_DEPTH 64

typedef struct WalkState
{
	int			min_depth;
	int			max_depth;
	const char *ends_with;
	dev_t		devs[MAX_WALK_DEPTH];
	ino_t		inos[MAX_WALK_DEPTH];
	int			nchain;
	FileList   *out;
} WalkState;

/* Is this a file name includeAll reads (Liquibase's parsers' extensions)? */
static bool
is_changelog_name(const char *name)
{
	return loader_ends_with_ci(name, ".sql") ||
		loader_ends_with_ci(name, ".xml") ||
		loader_ends_with_ci(name, ".yaml") ||
		loader_ends_with_ci(name, ".yml") ||
		loader_ends_with_ci(name, ".json");
}

/*
 * Normalise a logical path: "/" separators, no empty, "." or resolvable
 * ".." segments, no leading "/" (Liquibase strips it and resolves against
 * the search path) and no "classpath:" prefix (accepted by Liquibase 4 for
 * compatibility).
 */
static char *
path_normalize(const char *path)
{
	char	   *copy = pstrdup(path);
	char	  **seg;
	int			nseg = 0;
	char	   *p;
	char	   *start;
	StringInfoData out;

	if (pg_strncasecmp(copy, "classpath:", 10) == 0)
		memmove(copy, copy + 10, strlen(copy + 10) + 1);
	for (p = copy; *p; p++)
		if (*p == '\\')
			*p = '/';

	seg = palloc((strlen(copy) / 2 + 2) * sizeof(char *));
	start = copy;
	for (p = copy;; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			bool		last = (*p == '\0');

			*p = '\0';
			if (*start == '\0' || strcmp(start, ".") == 0)
				;
			else if (strcmp(start, "..") == 0 && nseg > 0 &&
					 strcmp(seg[nseg - 1], "..") != 0)
				nseg--;
			else
				seg[nseg++] = start;
			if (last)
				break;
			start = p + 1;
		}
	}

	initStringInfo(&out);
	for (int i = 0; i < nseg; i++)
	{
		if (i > 0)
			appendStringInfoChar(&out, '/');
		appendStringInfoString(&out, seg[i]);
	}
	pfree(seg);
	pfree(copy);
	return out.data;
}

/* See changelog_root.h: the logical path an include names */
char *
loader_logical_path(const char *including_logical, const char *path,
					bool relative)
{
	const char *slash;
	char	   *joined;
	char	   *result;

	if (!relative || including_logical == NULL)
		return path_normalize(path);

	/*
	 * Liquibase's resolveSibling: the including file's directory, "/", then
	 * the path as written, so a leading "/" is still relative here.
	 */
	slash = strrchr(including_logical, '/');
	if (slash)
		joined = psprintf("%.*s/%s", (int) (slash - including_logical),
						  including_logical, path);
	else
		joined = pstrdup(path);
	result = path_normalize(joined);
	pfree(joined);
	return result;
}

/* See changelog_root.h: a logical path's physical file or directory */
char *
loader_find(Loader *ld, const char *logical, bool want_dir,
			const char *errfile, int errline, bool *failed)
{
	char	   *found = NULL;
	char	   *found_real = NULL;

	*failed = false;
	for (int i = 0; i < ld->nsearch_path; i++)
	{
		char	   *phys = loader_join(ld->search_path[i], logical);
		struct stat st;
		char	   *real;

		if (stat(phys, &st) != 0 ||
			(want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
		{
			pfree(phys);
			continue;
		}
		real = realpath(phys, NULL);
		if (real == NULL)
		{
			pfree(phys);
			continue;
		}
		if (found == NULL)
		{
			found = phys;
			found_real = pstrdup(real);
		}
		else if (strcmp(real, found_real) != 0)
		{
			changelog_error(errfile, errline,
							"\"%s\" is found twice in the search path: %s and %s",
							logical, found, phys);
			changelog_hint("Narrow the search path so only one of them is found; Liquibase stops here too (duplicateFileMode=ERROR).");
			free(real);
			pfree(phys);
			pfree(found);
			pfree(found_real);
			*failed = true;
			return NULL;
		}
		else
			pfree(phys);
		free(real);
	}
	if (found_real)
		pfree(found_real);
	return found;
}

/* <include>: find the file and read it; a missing one may be optional */
bool
loader_include(Loader *ld, const char *logical, bool error_if_missing,
			   const char *contexts, const char *labels,
			   const char *errfile, int errline)
{
	bool		failed;
	char	   *physical = loader_find(ld, logical, false, errfile, errline, &failed);
	bool		ok;

	if (failed)
		return false;
	if (physical == NULL)
	{
		if (!error_if_missing)
		{
			pg_log_warning("%s:%d: included file \"%s\" not found, skipped (errorIfMissing is false)",
						   errfile, errline, logical);
			return true;
		}
		changelog_error(errfile, errline, "included file \"%s\" not found in the search path", logical);
		changelog_hint("Paths without relativeToChangelogFile are resolved against the search path (--search-path), not the including file.");
		return false;
	}
	ok = loader_read_file(ld, physical, logical, contexts, labels, errfile,
						  errline);
	pfree(physical);
	return ok;
}

/* Append one found file */
static void
filelist_add(FileList *fl, const char *logical, const char *physical)
{
	if (fl->count == fl->capacity)
	{
		fl->capacity = fl->capacity ? fl->capacity * 2 : 32;
		fl->items = fl->items ? repalloc(fl->items, fl->capacity * sizeof(FoundFile))
			: palloc(fl->capacity * sizeof(FoundFile));
	}
	fl->items[fl->count].logical = pstrdup(logical);
	fl->items[fl->count].physical = pstrdup(physical);
	fl->count++;
}

/*
 * Collect the regular files under phys_dir (whose files lie at depth+1),
 * following symbolic links as Liquibase does, but not around loops.
 */
static bool
walk_dir(WalkState *ws, const char *phys_dir, const char *logical_dir, int depth)
{
	DIR		   *dir = opendir(phys_dir);
	struct dirent *de;
	struct stat st;
	bool		ok = true;

	if (dir == NULL)
	{
		changelog_error(phys_dir, 0, "could not open directory: %m");
		return false;
	}
	if (stat(phys_dir, &st) == 0)
	{
		for (int i = 0; i < ws->nchain; i++)
			if (ws->devs[i] == st.st_dev && ws->inos[i] == st.st_ino)
			{
				closedir(dir);
				return true;	/* a link back up the tree */
			}
		if (ws->nchain == MAX_WALK_DEPTH)
		{
			closedir(dir);
			return true;
		}
		ws->devs[ws->nchain] = st.st_dev;
		ws->inos[ws->nchain] = st.st_ino;
		ws->nchain++;
	}

	while (ok && (de = readdir(dir)) != NULL)
	{
		char	   *phys;
		char	   *logical;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		phys = loader_join(phys_dir, de->d_name);
		logical = *logical_dir ? psprintf("%s/%s", logical_dir, de->d_name)
			: pstrdup(de->d_name);
		if (stat(phys, &st) == 0)
		{
			if (S_ISDIR(st.st_mode))
			{
				if (depth + 2 <= ws->max_depth)
					ok = walk_dir(ws, phys, logical, depth + 1);
			}
			else if (S_ISREG(st.st_mode) && depth + 1 >= ws->min_depth &&
					 depth + 1 <= ws->max_depth &&
					 (ws->ends_with == NULL || *ws->ends_with == '\0' ||
					  loader_ends_with_ci(logical, ws->ends_with)))
				filelist_add(ws->out, logical, phys);
		}
		pfree(phys);
		pfree(logical);
	}
	closedir(dir);
	ws->nchain--;
	return ok;
}

/* qsort: by logical path, as Liquibase's default resourceComparator */
static int
foundfile_cmp(const void *a, const void *b)
{
	return strcmp(((const FoundFile *) a)->logical, ((const FoundFile *) b)->logical);
}

/* <includeAll>: see changelog_root.h */
bool
loader_include_all(Loader *ld, const char *logical_dir, const char *physical_dir,
				   bool error_if_empty, int min_depth, int max_depth,
				   const char *ends_with, const char *contexts,
				   const char *labels, const char *errfile, int errline)
{
	FileList	fl = {0};
	WalkState	ws;
	bool		ok = true;
	int			n = 0;

	if (max_depth < min_depth)
	{
		changelog_error(errfile, errline, "includeAll \"%s\": maxDepth %d is less than minDepth %d",
						logical_dir, max_depth, min_depth);
		return false;
	}
	memset(&ws, 0, sizeof(ws));
	ws.min_depth = min_depth;
	ws.max_depth = max_depth;
	ws.ends_with = ends_with;
	ws.out = &fl;

	/* every search path entry holding the directory contributes its files */
	for (int i = 0; ok && i < (physical_dir ? 1 : ld->nsearch_path); i++)
	{
		char	   *base = physical_dir ? pstrdup(physical_dir)
			: loader_join(ld->search_path[i], logical_dir);
		struct stat st;

		if (stat(base, &st) == 0)
		{
			if (!S_ISDIR(st.st_mode))
			{
				changelog_error(errfile, errline, "includeAll \"%s\": %s is a file, not a directory",
								logical_dir, base);
				ok = false;
			}
			else if (max_depth > 0)
				ok = walk_dir(&ws, base, logical_dir, 0);
		}
		pfree(base);
	}

	/* Liquibase orders by the full path string, so subdirectories interleave */
	if (ok && fl.count > 1)
		qsort(fl.items, fl.count, sizeof(FoundFile), foundfile_cmp);

	/* one path found in two entries: the same file once, else an error */
	for (int i = 0; i < fl.count; i++)
	{
		bool		drop = false;

		if (ok && n > 0 && strcmp(fl.items[n - 1].logical, fl.items[i].logical) == 0)
		{
			char	   *a = realpath(fl.items[n - 1].physical, NULL);
			char	   *b = realpath(fl.items[i].physical, NULL);

			if (!(a && b && strcmp(a, b) == 0))
			{
				changelog_error(errfile, errline,
								"\"%s\" is found twice in the search path: %s and %s",
								fl.items[i].logical, fl.items[n - 1].physical,
								fl.items[i].physical);
				changelog_hint("Narrow the search path so only one of them is found; Liquibase stops here too (duplicateFileMode=ERROR).");
				ok = false;
			}
			free(a);
			free(b);
			drop = true;
		}
		if (drop)
		{
			pfree(fl.items[i].logical);
			pfree(fl.items[i].physical);
		}
		else
			fl.items[n++] = fl.items[i];
	}

	if (ok && n == 0 && error_if_empty)
	{
		changelog_error(errfile, errline,
						"includeAll \"%s\": no such directory in the search path, or no files in it match",
						logical_dir);
		changelog_hint("Set errorIfMissingOrEmpty=\"false\" if an empty directory is expected.");
		ok = false;
	}

	for (int i = 0; ok && i < n; i++)
	{
		if (!is_changelog_name(fl.items[i].physical))
		{
			pg_log_warning("includeAll \"%s\": skipping %s, not a recognized changelog file type",
						   logical_dir, fl.items[i].physical);
			continue;
		}
		ok = loader_read_file(ld, fl.items[i].physical, fl.items[i].logical,
							  contexts, labels, errfile, errline);
	}
	for (int i = 0; i < n; i++)
	{
		pfree(fl.items[i].logical);
		pfree(fl.items[i].physical);
	}
	if (fl.items)
		pfree(fl.items);
	return ok;
}
