/*
 * names.h: random names and ids of a scale test, and the UUID check.
 */
#ifndef CODER_SCALE_NAMES_H
#define CODER_SCALE_NAMES_H

#include <stdbool.h>

/* N random characters of [a-z0-9] into OUT (N <= 64), NUL-terminated. */
void		random_chars(char *out, int n);

/* A random version-4 UUID, 36 characters and a NUL, into OUT. */
void		random_uuid(char *out);

/* Whether S is a UUID (8-4-4-4-12 hex digits): the only id that goes into a request path. */
bool		is_uuid(const char *s);

#endif							/* CODER_SCALE_NAMES_H */
