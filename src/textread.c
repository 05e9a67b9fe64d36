/*
 * textread.c: see textread.h.
 */
#include "postgres.h"

#include "textread.h"

/* Raise 22P02 saying what was expected where. */
void
text_syntax_error(TextReader *t, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%.200s\"", t->type_name, t->orig),
			 errdetail("Expected %s at character %d.", expected, (int) (t->p - t->orig) + 1),
			 errhint("Write it as %s values are written, e.g. \"%s\".", t->type_name, t->example)));
}

/* Step over the literal LIT, or raise a syntax error. */
void
text_expect(TextReader *t, const char *lit)
{
	size_t		n = strlen(lit);

	if (strncmp(t->p, lit, n) != 0)
		text_syntax_error(t, lit);
	t->p += n;
}
