/*-------------------------------------------------------------------------
 *
 * changelog_yaml.c
 *	  YAML master changelogs, parsed with libyaml's event API into
 *	  MasterNode trees.
 *
 * Mapping keys become named nodes; a list item that is a one-key mapping
 * becomes a node named by that key, which is how Liquibase reads
 * "- include: {file: x}".  Lines come from the event marks.  libyaml reads
 * a UTF-8 BOM and CRLF line ends itself.  Aliases and complex keys have no
 * use in a changelog and are refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <yaml.h>

#include "changelog_root.h"
#include "changelog_sql.h"

typedef struct YamlReader
{
	yaml_parser_t parser;
	const char *file;
	bool		failed;
} YamlReader;

/* Next event; false (after reporting) on a syntax error */
static bool
next_event(YamlReader *yr, yaml_event_t *ev)
{
	if (yaml_parser_parse(&yr->parser, ev))
		return true;
	changelog_error(yr->file, (int) yr->parser.problem_mark.line + 1,
					"invalid YAML: %s%s%s", yr->parser.problem ? yr->parser.problem : "syntax error",
					yr->parser.context ? " " : "",
					yr->parser.context ? yr->parser.context : "");
	yr->failed = true;
	return false;
}

/* A plain scalar YAML reads as null */
static bool
is_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *) ev->data.scalar.value;

	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		(*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
		 strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

static MasterNode *parse_node(YamlReader *yr, yaml_event_t *ev);

/* The items of a sequence whose start event was just read */
static MasterNode *
parse_sequence(YamlReader *yr, int line)
{
	MasterNode *node = master_node_new(NULL, line);

	node->is_sequence = true;
	for (;;)
	{
		yaml_event_t ev;
		MasterNode *item;

		if (!next_event(yr, &ev))
			break;
		if (ev.type == YAML_SEQUENCE_END_EVENT)
		{
			yaml_event_delete(&ev);
			return node;
		}
		item = parse_node(yr, &ev);
		yaml_event_delete(&ev);
		if (item == NULL)
			break;

		/* "- key: value" is the node "key" */
		if (item->name == NULL && !item->is_sequence && item->value == NULL &&
			item->nchildren == 1)
		{
			MasterNode *only = item->children[0];

			item->nchildren = 0;
			master_node_free(item);
			item = only;
		}
		master_node_add(node, item);
	}
	master_node_free(node);
	return NULL;
}

/* The keys of a mapping whose start event was just read */
static MasterNode *
parse_mapping(YamlReader *yr, int line)
{
	MasterNode *node = master_node_new(NULL, line);

	for (;;)
	{
		yaml_event_t key;
		yaml_event_t ev;
		MasterNode *value;

		if (!next_event(yr, &key))
			break;
		if (key.type == YAML_MAPPING_END_EVENT)
		{
			yaml_event_delete(&key);
			return node;
		}
		if (key.type != YAML_SCALAR_EVENT)
		{
			changelog_error(yr->file, (int) key.start_mark.line + 1,
							"YAML mapping keys must be plain names");
			yr->failed = true;
			yaml_event_delete(&key);
			break;
		}
		if (!next_event(yr, &ev))
		{
			yaml_event_delete(&key);
			break;
		}
		value = parse_node(yr, &ev);
		yaml_event_delete(&ev);
		if (value == NULL)
		{
			yaml_event_delete(&key);
			break;
		}
		value->name = pstrdup((const char *) key.data.scalar.value);
		value->line = (int) key.start_mark.line + 1;
		yaml_event_delete(&key);
		master_node_add(node, value);
	}
	master_node_free(node);
	return NULL;
}

/* The node starting with event ev */
static MasterNode *
parse_node(YamlReader *yr, yaml_event_t *ev)
{
	int			line = (int) ev->start_mark.line + 1;
	MasterNode *node;

	switch (ev->type)
	{
		case YAML_SCALAR_EVENT:
			node = master_node_new(NULL, line);
			if (!is_null_scalar(ev))
				node->value = pstrdup((const char *) ev->data.scalar.value);
			return node;
		case YAML_SEQUENCE_START_EVENT:
			return parse_sequence(yr, line);
		case YAML_MAPPING_START_EVENT:
			return parse_mapping(yr, line);
		case YAML_ALIAS_EVENT:
			changelog_error(yr->file, line, "YAML aliases are not supported in changelogs");
			break;
		default:
			changelog_error(yr->file, line, "unexpected YAML structure");
			break;
	}
	yr->failed = true;
	return NULL;
}

/* Parse a YAML master; its databaseChangeLog node, or NULL after reporting */
MasterNode *
changelog_yaml_parse(const char *file)
{
	YamlReader	yr;
	yaml_event_t ev;
	size_t		len;
	char	   *data = changelog_read_file(file, &len);
	MasterNode *doc = NULL;
	MasterNode *result = NULL;

	if (data == NULL)
		return NULL;
	memset(&yr, 0, sizeof(yr));
	yr.file = file;
	if (!yaml_parser_initialize(&yr.parser))
	{
		changelog_error(file, 0, "out of memory creating the YAML parser");
		pfree(data);
		return NULL;
	}
	yaml_parser_set_input_string(&yr.parser, (const unsigned char *) data, len);

	/* stream start, document start, the document's node */
	while (next_event(&yr, &ev))
	{
		yaml_event_type_t type = ev.type;

		if (type == YAML_STREAM_START_EVENT || type == YAML_DOCUMENT_START_EVENT)
		{
			yaml_event_delete(&ev);
			continue;
		}
		if (type != YAML_STREAM_END_EVENT)
			doc = parse_node(&yr, &ev);
		yaml_event_delete(&ev);
		break;
	}
	yaml_parser_delete(&yr.parser);
	pfree(data);
	if (yr.failed)
	{
		master_node_free(doc);
		return NULL;
	}

	/* the document is one mapping: databaseChangeLog: [ ... ] */
	if (doc == NULL || doc->name != NULL || doc->is_sequence || doc->nchildren != 1 ||
		doc->children[0]->name == NULL ||
		strcmp(doc->children[0]->name, "databaseChangeLog") != 0)
	{
		changelog_error(file, doc ? doc->line : 0,
						"a YAML changelog must be one mapping with the key databaseChangeLog");
		master_node_free(doc);
		return NULL;
	}
	result = doc->children[0];
	doc->nchildren = 0;
	master_node_free(doc);
	return result;
}
