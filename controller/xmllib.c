/*-------------------------------------------------------------------------
 *
 * xmllib.c
 *	  Open libxml2 at run time and fill the table of its symbols.
 *
 * See xmllib.h for why: most runs of pgchange never read XML and should
 * not pay for loading libxml2 and what it depends on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dlfcn.h>
#include <stddef.h>

#include "xmllib.h"

XmlLib		xmllib;

#define XMLLIB_STR(x) XMLLIB_STR2(x)
#define XMLLIB_STR2(x) #x

/*
 * Every symbol of the list needs its "#define name XMLLIB_CALL(name)" in
 * xmllib.h: a name that is not a macro stringizes to itself.
 */
#define XMLLIB_CHECK(name) \
	StaticAssertDecl(sizeof(XMLLIB_STR(name)) != sizeof(#name), \
					 #name " is in XMLLIB_SYMBOLS but has no #define in xmllib.h");
XMLLIB_SYMBOLS(XMLLIB_CHECK)

/* name and place in the table of each symbol */
static const struct
{
	const char *name;
	size_t		offset;
}			symbols[] =
{
#define XMLLIB_ENTRY(name) {#name, offsetof(XmlLib, p_##name)},
	XMLLIB_SYMBOLS(XMLLIB_ENTRY)
#undef XMLLIB_ENTRY
};

static bool loaded = false;
static char *load_error;

bool
xmllib_load(const char **error)
{
	return xmllib_load_from(XMLLIB_SONAME, error);
}

bool
xmllib_load_from(const char *soname, const char **error)
{
	void	   *handle;

	/* a failure is not remembered: trying again costs little */
	if (!loaded)
	{
		if (load_error)
			pfree(load_error);
		load_error = NULL;
		/* RTLD_NOW: a missing symbol fails here, not in the middle of a read */
		handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
		if (handle == NULL)
		{
			const char *why = dlerror();

			/* dlerror() names the file */
			load_error = psprintf("could not load libxml2, needed for XML: %s",
								  why ? why : soname);
		}
		else
		{
			for (int i = 0; i < lengthof(symbols); i++)
			{
				void	   *p = dlsym(handle, symbols[i].name);

				if (p == NULL)
				{
					load_error = psprintf("%s has no symbol %s: is it libxml2 %s or later?",
										  soname, symbols[i].name, LIBXML_DOTTED_VERSION);
					dlclose(handle);
					memset(&xmllib, 0, sizeof(xmllib));
					break;
				}
				memcpy((char *) &xmllib + symbols[i].offset, &p, sizeof(p));
			}
		}
		loaded = (load_error == NULL);
	}
	if (error)
		*error = load_error;
	return loaded;
}
