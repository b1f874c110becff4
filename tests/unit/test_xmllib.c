/*-------------------------------------------------------------------------
 *
 * test_xmllib.c
 *	  Unit tests of controller/xmllib.c: libxml2 is not in the process
 *	  until an XML changelog is read, a missing library is a clear error
 *	  with the install hint, and once loaded every symbol of the list is
 *	  resolved and XML parses through the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "changelog_root.h"
#include "changelog_sql.h"
#include "tap.h"
#include "xmllib.h"

/* Is a shared object whose path contains name mapped into this process? */
static bool
mapped(const char *name)
{
	FILE	   *f = fopen("/proc/self/maps", "r");
	char		line[4096];
	bool		found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

int
main(void)
{
	const char *err = NULL;
	char		path[] = "/tmp/pgchange_xmllib_XXXXXX.xml";
	int			fd;
	MasterNode *root;
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<databaseChangeLog xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\">\n"
		"  <include file=\"a.sql\"/>\n"
		"  <property name=\"x\" value=\"&lt;1&gt;\"/>\n"
		"</databaseChangeLog>\n";
	bool		all = true;

	if (access("/proc/self/maps", R_OK) != 0)
		skip_all("no /proc/self/maps");

	ok(!mapped("libxml2"), "libxml2 is not loaded at start (the binary does not link it)");

	/* a library that is not there */
	ok(!xmllib_load_from("libpgchange-no-such-xml.so.9", &err), "a missing library fails to load");
	ok(err && strstr(err, "libpgchange-no-such-xml.so.9") && strstr(err, "libxml2, needed for XML"),
	   "the error names the library and what it is for: %s", err ? err : "(null)");
	ok(xmllib.p_xmlNewParserCtxt == NULL, "nothing is resolved after a failure");
	ok(strstr(XMLLIB_INSTALL_HINT, "apt-get install libxml2") != NULL, "the hint says how to install it");

	/* a library without libxml2's symbols */
	ok(!xmllib_load_from("libz.so.1", &err), "a library that is not libxml2 fails to load");
	ok(err && strstr(err, "has no symbol xmlCheckVersion"), "the error names the missing symbol: %s",
	   err ? err : "(null)");
	ok(!mapped("libxml2"), "libxml2 is still not loaded");

	/* the real one; a failure before it is not remembered */
	err = NULL;
	ok(xmllib_load(&err), "libxml2 loads: %s", err ? err : "");
	ok(err == NULL, "no error after loading");
	ok(mapped("libxml2"), "libxml2 is loaded now");
#define CHECK_RESOLVED(name) all = all && xmllib.p_##name != NULL;
	XMLLIB_SYMBOLS(CHECK_RESOLVED);
	ok(all, "every symbol of XMLLIB_SYMBOLS is resolved");
	ok(xmllib_load(NULL), "loading again is a no-op");

	/* parse through the table: elements, attributes, lines, entities */
	fd = mkstemps(path, 4);
	if (fd < 0 || write(fd, xml, strlen(xml)) != (ssize_t) strlen(xml))
	{
		ok(false, "could not write %s", path);
		return done_testing();
	}
	close(fd);
	root = changelog_xml_parse(path);
	ok(root != NULL, "an XML master parses through the table");
	if (root)
	{
		is_str(root->name, "databaseChangeLog", "root element");
		is_int(root->nchildren, 2, "two children");
		is_int(root->children[0]->line, 3, "line numbers come through xmlGetLineNo");
		is_str(root->children[1]->children[1]->value, "<1>",
			   "attribute values come through xmlNodeListGetString (and xmlFree)");
		master_node_free(root);
	}
	unlink(path);
	return done_testing();
}
