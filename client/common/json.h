/*
 * json.h: reading json-c objects without repeating the type checks.
 * Both return NULL for a NULL object, a missing key or (jstr) a value that
 * is not a string; what they return is owned by O.
 */
#ifndef CODER_SCALE_JSON_H
#define CODER_SCALE_JSON_H

#include <json-c/json.h>

/* The string member KEY of O. */
static inline const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* The member KEY of O, of any type. */
static inline json_object *
jobj(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

#endif							/* CODER_SCALE_JSON_H */
