/*-------------------------------------------------------------------------
 *
 * changelog_xml.c
 *	  XML master changelogs, parsed with libxml2 into MasterNode trees.
 *
 * Elements become nodes (with their line, from xmlGetLineNo), attributes
 * become child nodes on the element's line, and an element's text (or
 * CDATA) becomes its value.  Elements outside Liquibase's namespace keep
 * their prefix, so pro:/ext: extensions are reported as unknown rather
 * than mistaken for Liquibase's own.  Attributes with a prefix (xsi:...)
 * and namespace declarations are schema plumbing and are dropped.
 *
 * libxml2 is loaded on first use (xmllib.h), and used without DTD loading, entity substitution or network
 * access: a changelog cannot pull in other files behind the loader's back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "changelog_root.h"
#include "changelog_sql.h"
#include "lib/stringinfo.h"
#include "xmllib.h"

#define LIQUIBASE_NS "http://www.liquibase.org/xml/ns/dbchangelog"

/* Convert one element (and everything below it) */
static MasterNode *
convert_element(xmlNodePtr el)
{
	MasterNode *node;
	StringInfoData text;
	bool		has_elements = false;
	bool		has_text = false;
	int			line = (int) xmlGetLineNo(el);

	if (el->ns && el->ns->href &&
		strcmp((const char *) el->ns->href, LIQUIBASE_NS) != 0)
	{
		char	   *name = psprintf("%s:%s",
									el->ns->prefix ? (const char *) el->ns->prefix
									: (const char *) el->ns->href,
									(const char *) el->name);

		node = master_node_new(name, line);
		pfree(name);
	}
	else
		node = master_node_new((const char *) el->name, line);
	node->is_element = true;

	for (xmlAttrPtr attr = el->properties; attr; attr = attr->next)
	{
		xmlChar    *value;
		MasterNode *a;

		if (attr->ns)
			continue;			/* xsi:schemaLocation and the like */
		value = xmlNodeListGetString(el->doc, attr->children, 1);
		a = master_node_new((const char *) attr->name, line);
		a->is_attribute = true;
		a->value = pstrdup(value ? (const char *) value : "");
		xmlFree(value);
		master_node_add(node, a);
	}

	initStringInfo(&text);
	for (xmlNodePtr c = el->children; c; c = c->next)
	{
		if (c->type == XML_ELEMENT_NODE)
		{
			master_node_add(node, convert_element(c));
			has_elements = true;
		}
		else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
				 c->content)
		{
			appendStringInfoString(&text, (const char *) c->content);
			has_text = true;
		}
	}

	/* text between child elements is layout, not a value */
	if (has_text && !has_elements)
		node->value = text.data;
	else if (has_text && strspn(text.data, " \t\r\n") != (size_t) text.len)
		node->value = text.data;
	else
		pfree(text.data);
	return node;
}

/* Parse an XML master; its root element, or NULL after reporting */
MasterNode *
changelog_xml_parse(const char *file)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr	doc;
	xmlNodePtr	root;
	MasterNode *result;
	const char *load_error;

	/* libxml2 is loaded only now, when there is XML to read */
	if (!xmllib_load(&load_error))
	{
		changelog_error(file, 0, "%s", load_error);
		changelog_hint(XMLLIB_INSTALL_HINT);
		return NULL;
	}
	LIBXML_TEST_VERSION;
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
	{
		changelog_error(file, 0, "out of memory creating the XML parser");
		return NULL;
	}
	doc = xmlCtxtReadFile(ctxt, file, NULL,
						  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
	if (doc == NULL)
	{
		xmlErrorPtr err = xmlCtxtGetLastError(ctxt);
		char	   *msg = pstrdup(err && err->message ? err->message : "cannot be parsed");
		size_t		n = strlen(msg);

		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		changelog_error(file, err ? err->line : 0, "invalid XML: %s", msg);
		pfree(msg);
		xmlFreeParserCtxt(ctxt);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL)
	{
		changelog_error(file, 0, "empty XML document");
		result = NULL;
	}
	else
		result = convert_element(root);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return result;
}
