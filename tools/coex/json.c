#include "json.h"

#include "lib/err.h"
#include "util.h"

#include <errno.h>
#include <string.h>

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
}

/* Writes the separator a new value needs: a comma between items, nothing after a key. */
static void value_begin(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0 && j->has_items[j->depth - 1])
		fputc(',', j->f);
	if (j->depth > 0)
		j->has_items[j->depth - 1] = 1;
}

static void open_container(struct json *j, char c)
{
	value_begin(j);
	fputc(c, j->f);
	if (j->depth >= JSON_MAX_DEPTH) {
		j->bad = 1;
		return;
	}
	j->has_items[j->depth++] = 0;
}

static void close_container(struct json *j, char c)
{
	if (j->depth == 0 || j->after_key)
		j->bad = 1;
	else
		j->depth--;
	fputc(c, j->f);
}

void json_object_begin(struct json *j) { open_container(j, '{'); }
void json_object_end(struct json *j) { close_container(j, '}'); }
void json_array_begin(struct json *j) { open_container(j, '['); }
void json_array_end(struct json *j) { close_container(j, ']'); }

static void write_escaped(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;

	fputc('"', f);
	while (i < len) {
		uint32_t cp;
		size_t n = util_utf8_decode(p + i, len - i, &cp);

		if (n == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(p + i, 1, n, f);
		}
		i += n;
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	if (j->after_key || j->depth == 0)
		j->bad = 1;
	value_begin(j);
	write_escaped(j->f, key);
	fputc(':', j->f);
	j->after_key = 1;
}

void json_string(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	value_begin(j);
	write_escaped(j->f, s);
}

void json_u64(struct json *j, uint64_t v)
{
	value_begin(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_bool(struct json *j, int v)
{
	value_begin(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	value_begin(j);
	fputs("null", j->f);
}

void json_fixed(struct json *j, uint64_t v, unsigned decimals)
{
	uint64_t scale = 1, frac;
	unsigned i, width = decimals;

	for (i = 0; i < decimals && scale <= UINT64_MAX / 10; i++)
		scale *= 10;
	frac = v % scale;
	value_begin(j);
	fprintf(j->f, "%llu", (unsigned long long)(v / scale));
	if (frac == 0)
		return;
	/* Trailing zeros carry nothing: 1.200 is written 1.2. */
	while (frac % 10 == 0) {
		frac /= 10;
		width--;
	}
	fprintf(j->f, ".%0*llu", (int)width, (unsigned long long)frac);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_kv_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	json_bool(j, v);
}

int json_finish(struct json *j)
{
	fputc('\n', j->f);
	if (fflush(j->f) != 0 || ferror(j->f))
		return -EIO;
	return j->bad || j->depth != 0 || j->after_key ? ERR_STATE : 0;
}
