/*
 * json.c - jansson values written as JSON text (json.h).
 */
#include "util/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int newline(berth_buf *b, int indent, int depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)indent * (size_t)depth;

	if (!indent)
		return 0;
	if (berth_buf_put(b, "\n", 1) < 0)
		return -1;
	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		if (berth_buf_put(b, spaces, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static int put_real(berth_buf *b, double d)
{
	char num[40], *e;
	int n;

	if (!isfinite(d))
		return berth_error_set(BERTH_EINVALID, "JSON has no text for %f", d);
	n = snprintf(num, sizeof(num), "%.17g", d);
	if (n < 0 || (size_t)n >= sizeof(num))
		return berth_error_set(BERTH_ERROR, "real out of range");
	if ((e = strchr(num, 'e')) != NULL) {
		/* as jansson writes it: "1e20", "1e-07" -> "1e-7" */
		char *to = e + 1, *src = e + 1;

		if (*src == '+')
			src++;
		else if (*src == '-')
			to++, src++;
		while (*src == '0' && src[1])
			src++;
		memmove(to, src, strlen(src) + 1);
		n = (int)strlen(num);
	} else if (!strpbrk(num, ".n")) {
		memcpy(num + n, ".0", 3);
		n += 2;
	}
	return berth_buf_put(b, num, (size_t)n);
}

static int write_value(berth_buf *b, const json_t *v, int indent, int depth)
{
	const char *sep = indent ? ": " : ":";
	size_t i, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *m;
		int first = 1;

		if (json_object_size(v) == 0)
			return berth_buf_put(b, "{}", 2);
		if (berth_buf_put(b, "{", 1) < 0)
			return -1;
		json_object_foreach((json_t *)v, key, m)
		{
			if ((!first && berth_buf_put(b, ",", 1) < 0) ||
			    newline(b, indent, depth + 1) < 0 ||
			    berth_buf_put_json_string(b, key) < 0 || berth_buf_puts(b, sep) < 0 ||
			    write_value(b, m, indent, depth + 1) < 0)
				return -1;
			first = 0;
		}
		if (newline(b, indent, depth) < 0)
			return -1;
		return berth_buf_put(b, "}", 1);
	}
	case JSON_ARRAY:
		if ((n = json_array_size(v)) == 0)
			return berth_buf_put(b, "[]", 2);
		if (berth_buf_put(b, "[", 1) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if ((i && berth_buf_put(b, ",", 1) < 0) ||
			    newline(b, indent, depth + 1) < 0 ||
			    write_value(b, json_array_get(v, i), indent, depth + 1) < 0)
				return -1;
		if (newline(b, indent, depth) < 0)
			return -1;
		return berth_buf_put(b, "]", 1);
	case JSON_STRING: return berth_buf_put_json_string(b, json_string_value(v));
	case JSON_INTEGER:
		return berth_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: return put_real(b, json_real_value(v));
	case JSON_TRUE: return berth_buf_put(b, "true", 4);
	case JSON_FALSE: return berth_buf_put(b, "false", 5);
	case JSON_NULL: return berth_buf_put(b, "null", 4);
	}
	return berth_error_set(BERTH_EINVALID, "not a JSON value");
}

int berth_json_write(berth_buf *b, const json_t *v, int indent)
{
	if (!v)
		return berth_error_set(BERTH_EINVALID, "no JSON value");
	if (write_value(b, v, indent, 0) < 0)
		return berth_error_last_code() ? berth_error_last_code() : BERTH_ERROR;
	return 0;
}
