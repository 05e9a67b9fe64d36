/*
 * textread.h: a cursor over the text input of a stored type, shared by the
 * input functions of coder_scale.sketch and coder_scale.counter_summary,
 * and the float8 writer of their output functions.  Errors point at the
 * character where the input went wrong (22P02).
 */
#ifndef CODER_SCALE_TEXTREAD_H
#define CODER_SCALE_TEXTREAD_H

#include "postgres.h"

#include "lib/stringinfo.h"

typedef struct TextReader
{
	const char *p;				/* next character */
	const char *orig;			/* the whole input */
	const char *type_name;		/* e.g. "coder_scale.sketch" */
	const char *example;		/* a valid value, for the hint */
} TextReader;

extern void text_syntax_error(TextReader *t, const char *expected) pg_attribute_noreturn();
extern void text_expect(TextReader *t, const char *lit);
extern double text_read_double(TextReader *t, bool allow_negative, char stop);
extern void text_append_double(StringInfo buf, double d);

#endif							/* CODER_SCALE_TEXTREAD_H */
