/*
 * textread.c: see textread.h.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"

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

/*
 * A finite float8 (strtod syntax) that must be followed by stop; neither an
 * overflow nor an underflow to 0.  A sign only when allow_negative.
 */
double
text_read_double(TextReader *t, bool allow_negative, char stop)
{
	char	   *end;
	double		d;

	if (!((allow_negative && *t->p == '-') || *t->p == '.' || (*t->p >= '0' && *t->p <= '9')))
		text_syntax_error(t, "a number");
	errno = 0;
	d = strtod(t->p, &end);
	if (end == t->p || *end != stop || (errno == ERANGE && (d == 0.0 || isinf(d))))
		text_syntax_error(t, "a finite number");
	t->p = end;
	return d;
}

/* The shortest text that reads back as exactly d. */
void
text_append_double(StringInfo buf, double d)
{
	char		s[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(d, s);
	appendStringInfoString(buf, s);
}
