/*-------------------------------------------------------------------------
 *
 * changelog_json.c
 *	  JSON master changelogs, parsed with cJSON into MasterNode trees.
 *
 * cJSON keeps no line numbers, so every node carries its path instead
 * (databaseChangeLog[3].include.file) and errors name that.  A syntax
 * error's line is counted from cJSON's error position.  Objects and arrays
 * map onto nodes exactly as YAML's mappings and sequences do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "changelog_root.h"
#include "changelog_sql.h"

/* Convert one JSON value; its node is called name, found at where */
static MasterNode *
convert_value(const cJSON *item, const char *name, const char *where)
{
	MasterNode *node = master_node_new(name, 0);

	node->where = pstrdup(where);
	if (cJSON_IsObject(item))
	{
		for (const cJSON *c = item->child; c; c = c->next)
		{
			char	   *path = psprintf("%s.%s", where, c->string ? c->string : "");

			master_node_add(node, convert_value(c, c->string, path));
			pfree(path);
		}
	}
	else if (cJSON_IsArray(item))
	{
		int			i = 0;

		node->is_sequence = true;
		for (const cJSON *c = item->child; c; c = c->next, i++)
		{
			char	   *path;

			/* [{"include": {...}}] reads as the node "include" */
			if (cJSON_IsObject(c) && c->child && c->child->next == NULL)
			{
				path = psprintf("%s[%d].%s", where, i,
								c->child->string ? c->child->string : "");
				master_node_add(node, convert_value(c->child, c->child->string, path));
			}
			else
			{
				path = psprintf("%s[%d]", where, i);
				master_node_add(node, convert_value(c, NULL, path));
			}
			pfree(path);
		}
	}
	else if (cJSON_IsString(item))
		node->value = pstrdup(item->valuestring);
	else if (cJSON_IsBool(item))
		node->value = pstrdup(cJSON_IsTrue(item) ? "true" : "false");
	else if (cJSON_IsNumber(item))
	{
		char	   *text = cJSON_PrintUnformatted(item);

		node->value = pstrdup(text ? text : "0");
		cJSON_free(text);
	}
	/* null: no value */
	return node;
}

/* Parse a JSON master; its databaseChangeLog node, or NULL after reporting */
MasterNode *
changelog_json_parse(const char *file)
{
	size_t		len;
	char	   *data = changelog_read_file(file, &len);
	const char *text;
	const char *end = NULL;
	cJSON	   *json;
	const cJSON *dcl;
	MasterNode *result;

	if (data == NULL)
		return NULL;
	text = data;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		text += 3;				/* cJSON does not skip a BOM */

	json = cJSON_ParseWithOpts(text, &end, true);
	if (json == NULL)
	{
		int			line = 1;

		if (end == NULL || end < text)
			end = cJSON_GetErrorPtr();
		for (const char *p = text; end && p < end && *p; p++)
			if (*p == '\n')
				line++;
		/* show a little of the text there, up to the end of its line */
		changelog_error(file, line, "invalid JSON near \"%.*s\"",
						end ? (int) Min(strcspn(end, "\r\n"), 20) : 0, end ? end : "");
		pfree(data);
		return NULL;
	}

	dcl = cJSON_GetObjectItemCaseSensitive(json, "databaseChangeLog");
	if (!cJSON_IsObject(json) || dcl == NULL || json->child->next != NULL)
	{
		changelog_error(file, 0, "a JSON changelog must be one object with the key databaseChangeLog");
		cJSON_Delete(json);
		pfree(data);
		return NULL;
	}
	result = convert_value(dcl, "databaseChangeLog", "databaseChangeLog");
	cJSON_Delete(json);
	pfree(data);
	return result;
}
