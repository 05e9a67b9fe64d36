/*
 * buf.c: the growable buffer and the COPY text and binary formats (see
 * buf.h).
 */
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "buf.h"

/*
 * The escape letter of each byte inside a COPY text field, 0 for a byte
 * written as it is: the escapes PostgreSQL's COPY TO writes.
 */
static const char copy_escape[256] = {
	['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r',
	['\b'] = 'b', ['\f'] = 'f', ['\v'] = 'v'
};

/* Grow to hold at least NEED bytes plus the terminating NUL; exits when memory is out. */
static void
grow(buf *b, size_t need)
{
	size_t		cap = b->cap ? b->cap : 256;
	char	   *p;

	while (cap < need + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		cli_out_of_memory("a buffer");
	b->data = p;
	b->cap = cap;
}

void
buf_reserve(buf *b, size_t more)
{
	if (b->len + more + 1 > b->cap)
		grow(b, b->len + more);
}

void
buf_put(buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_putc(buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_printf(buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

void
buf_reset(buf *b)
{
	b->len = 0;
	b->fields = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_free(buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* The tab before every field of a row but its first. */
static void
separator(buf *b)
{
	if (b->fields++ > 0)
		buf_putc(b, '\t');
}

void
buf_copy_escaped(buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	char	   *out;
	size_t		i = 0;

	buf_reserve(b, 2 * n);
	out = b->data + b->len;
	while (i < n)
	{
		size_t		run = i;

		/* bytes written as they are, the bulk of any text, copied in one go */
		while (run < n && copy_escape[p[run]] == 0)
			run++;
		memcpy(out, s + i, run - i);
		out += run - i;
		if (run < n)
		{
			*out++ = '\\';
			*out++ = copy_escape[p[run]];
			run++;
		}
		i = run;
	}
	b->len = (size_t) (out - b->data);
	b->data[b->len] = '\0';
}

void
buf_copy_textn(buf *b, const char *s, size_t n)
{
	separator(b);
	buf_copy_escaped(b, s, n);
}

void
buf_copy_text(buf *b, const char *s)
{
	if (s == NULL)
		buf_copy_null(b);
	else
		buf_copy_textn(b, s, strlen(s));
}

void
buf_copy_null(buf *b)
{
	separator(b);
	buf_put(b, "\\N", 2);
}

void
buf_copy_end_row(buf *b)
{
	buf_putc(b, '\n');
	b->fields = 0;
}

void
buf_copy_json_string(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char	   *out;

	buf_reserve(b, 7 * n + 2);
	out = b->data + b->len;
	*out++ = '"';
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\')
		{
			/* JSON's \" or \\, each backslash doubled for COPY */
			memcpy(out, "\\\\", 2);
			out += 2;
			if (c == '\\')
			{
				memcpy(out, "\\\\", 2);
				out += 2;
			}
			else
				*out++ = '"';
		}
		else if (c < 0x20)
		{
			memcpy(out, "\\\\u00", 5);	/* JSON \u00XX, its backslash doubled */
			out += 5;
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
		else
			*out++ = (char) c;
	}
	*out++ = '"';
	b->len = (size_t) (out - b->data);
	b->data[b->len] = '\0';
}

void
buf_bin_row(buf *b, int nfields)
{
	uint16_t	v = htobe16((uint16_t) nfields);

	buf_put(b, &v, 2);
}

void
buf_bin_int8(buf *b, int64_t v)
{
	uint32_t	len = htobe32(8);
	uint64_t	x = htobe64((uint64_t) v);

	buf_reserve(b, 12);
	memcpy(b->data + b->len, &len, 4);
	memcpy(b->data + b->len + 4, &x, 8);
	b->len += 12;
	b->data[b->len] = '\0';
}

void
buf_bin_float8(buf *b, double v)
{
	int64_t		bits;

	memcpy(&bits, &v, 8);
	buf_bin_int8(b, bits);
}
