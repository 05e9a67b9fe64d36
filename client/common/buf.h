/*
 * buf.h: one growable byte buffer, and the COPY formats written into it.
 *
 * A buf is plain data: start it zeroed (buf b = {0}), append, read data and
 * len, buf_free it.  After any append, data[len] is '\0', so text can be
 * printed as it is.  The buffer owns data; copying the struct copies the
 * pointer, not the bytes.  Growing beyond memory prints "coder-scale: out
 * of memory" and exits 4: every caller may assume appends succeed.  A buf
 * is not thread-safe; a writer hands whole buffers between threads.
 *
 * COPY text rows, as PostgreSQL's COPY reads its text format:
 *
 *   buf_copy_text(b, "a\tb");      // one field; NULL writes \N
 *   buf_copy_null(b);
 *   buf_copy_end_row(b);           // "a\\tb\t\\N\n"
 *
 * Fields are separated by a tab and a row ends with a newline.  Inside a
 * field, backslash, tab, newline, carriage return, backspace, form feed and
 * vertical tab are written as \\ \t \n \r \b \f \v, exactly the escapes COPY
 * TO writes; every other byte is written as it is (the text must be valid
 * in the connection's encoding, UTF-8).
 *
 * COPY binary rows, without the file header and trailer (the writer adds
 * them, see copywriter.h): buf_bin_row(b, 3), then one buf_bin_int8 /
 * buf_bin_float8 per field, integers in network byte order.
 */
#ifndef CODER_SCALE_BUF_H
#define CODER_SCALE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf
{
	char	   *data;			/* NULL until the first append */
	size_t		len;			/* bytes appended */
	size_t		cap;			/* bytes allocated */
	int			fields;			/* fields of the current COPY text row */
} buf;

/* Room for MORE bytes after len, without changing len. */
void		buf_reserve(buf *b, size_t more);
void		buf_put(buf *b, const void *p, size_t n);
void		buf_putc(buf *b, char c);
void		buf_printf(buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
/* Forget the contents, keep the memory. */
void		buf_reset(buf *b);
void		buf_free(buf *b);

/* COPY text: one field (escaped), SQL NULL, the end of a row. */
void		buf_copy_text(buf *b, const char *s);
void		buf_copy_textn(buf *b, const char *s, size_t n);
void		buf_copy_null(buf *b);
void		buf_copy_end_row(buf *b);

/* S escaped as inside a COPY text field, without a separator (for pieces of one field). */
void		buf_copy_escaped(buf *b, const char *s, size_t n);

/* S as a JSON string literal, itself escaped for a COPY text field (a jsonb field's piece). */
void		buf_copy_json_string(buf *b, const char *s, size_t n);

/* COPY binary: a row of NFIELDS fields, an int8 field, a float8 field. */
void		buf_bin_row(buf *b, int nfields);
void		buf_bin_int8(buf *b, int64_t v);
void		buf_bin_float8(buf *b, double v);

#endif							/* CODER_SCALE_BUF_H */
