/*
 * names.c: the random names and ids a scale test makes, and the check on
 * ids it reads back (coder/coder scaletest/loadtestutil/names.go makes the
 * scaletest-<rand>-<i> names with cryptorand.String: digits and both cases).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "names.h"

/* One random byte below 248 (a multiple of 62), so every character is as likely. */
static unsigned char
random_byte(void)
{
	unsigned char b;

	do
	{
		if (getrandom(&b, 1, 0) != 1)
			b = (unsigned char) rand();
	} while (b >= 248);
	return b;
}

void
random_chars(char *out, int n)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	for (int i = 0; i < n; i++)
		out[i] = alphabet[random_byte() % 62];
	out[n] = '\0';
}

void
random_uuid(char *out)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char) rand();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
			b[12], b[13], b[14], b[15]);
}

bool
is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
	{
		bool		dash = i == 8 || i == 13 || i == 18 || i == 23;
		char		c = s[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}
