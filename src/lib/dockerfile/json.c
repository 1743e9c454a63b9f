/*
 * json.c - the JSON (exec) form of an instruction, as BuildKit reads it:
 * json.NewDecoder(rest).Decode(&[]interface{}) — the first JSON value after
 * leading whitespace must be an array; text after the array is ignored; an
 * array that is valid JSON but holds anything other than strings is an error
 * ("when using JSON array syntax, arrays must be comprised of strings
 * only"); anything that is not valid JSON is shell form.
 *
 * The validator is iterative (no recursion on nesting) and caps nesting at
 * Go's 10000 levels.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 10000

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Scan a string at s[i] == '"'; decode into out (may be NULL). Returns index after it or 0. */
static size_t scan_string(const char *s, size_t n, size_t i, berth_buf *out, int *oom)
{
	i++;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c != '\\') {
			if (out && berth_buf_put(out, s + i, 1) < 0)
				*oom = 1;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return 0;
		c = (unsigned char)s[i + 1];
		if (c == 'u') {
			uint32_t u, lo;

			if (i + 6 > n || hex4(s + i + 2, &u) < 0)
				return 0;
			i += 6;
			if (u >= 0xD800 && u < 0xDC00) {
				/* A surrogate pair, or U+FFFD for a lone high surrogate. */
				if (i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
				    hex4(s + i + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
					u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				} else {
					u = 0xFFFD;
				}
			} else if (u >= 0xDC00 && u < 0xE000) {
				u = 0xFFFD;
			}
			if (out && berth_dockerfile__put_rune(out, u) < 0)
				*oom = 1;
			continue;
		}
		{
			char e;

			switch (c) {
			case '"':
			case '\\':
			case '/': e = (char)c; break;
			case 'b': e = '\b'; break;
			case 'f': e = '\f'; break;
			case 'n': e = '\n'; break;
			case 'r': e = '\r'; break;
			case 't': e = '\t'; break;
			default: return 0;
			}
			if (out && berth_buf_put(out, &e, 1) < 0)
				*oom = 1;
			i += 2;
		}
	}
	return 0;
}

static size_t scan_number(const char *s, size_t n, size_t i)
{
	size_t st;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return 0;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return 0;
	}
	if (i < n && s[i] == '.') {
		st = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == st)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		st = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == st)
			return 0;
	}
	return i;
}

static size_t scan_literal(const char *s, size_t n, size_t i)
{
	static const char *const lits[] = {"true", "false", "null"};

	for (int k = 0; k < 3; k++) {
		size_t l = strlen(lits[k]);

		if (n - i >= l && memcmp(s + i, lits[k], l) == 0)
			return i + l;
	}
	return 0;
}

/*
 * Validate one nested value (array/object/scalar) starting at s[i]; returns the index after
 * it or 0 when invalid. Iterative: `stack` remembers whether each level is an object.
 */
static size_t scan_value(const char *s, size_t n, size_t i)
{
	unsigned char *stack = NULL;
	size_t depth = 0, r = 0;
	int oom = 0;

	for (;;) {
		/* Expect a value at i. */
		i = skip_ws(s, n, i);
		if (i >= n)
			goto done;
		if (s[i] == '[' || s[i] == '{') {
			if (depth >= JSON_MAX_DEPTH)
				goto done;
			if (!stack && !(stack = malloc(JSON_MAX_DEPTH)))
				goto done;
			stack[depth++] = s[i] == '{';
			i = skip_ws(s, n, i + 1);
			if (i < n && s[i] == (stack[depth - 1] ? '}' : ']')) {
				depth--;
				i++;
				goto after_value;
			}
			if (stack[depth - 1]) {
				if (i >= n || s[i] != '"' ||
				    !(i = scan_string(s, n, i, NULL, &oom)))
					goto done;
				i = skip_ws(s, n, i);
				if (i >= n || s[i] != ':')
					goto done;
				i++;
			}
			continue;
		}
		if (s[i] == '"')
			i = scan_string(s, n, i, NULL, &oom);
		else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))
			i = scan_number(s, n, i);
		else
			i = scan_literal(s, n, i);
		if (!i)
			goto done;
	after_value:
		for (;;) {
			if (depth == 0) {
				r = i;
				goto done;
			}
			i = skip_ws(s, n, i);
			if (i >= n)
				goto done;
			if (s[i] == ',') {
				i++;
				if (stack[depth - 1]) {
					i = skip_ws(s, n, i);
					if (i >= n || s[i] != '"' ||
					    !(i = scan_string(s, n, i, NULL, &oom)))
						goto done;
					i = skip_ws(s, n, i);
					if (i >= n || s[i] != ':')
						goto done;
					i++;
				}
				break;
			}
			if (s[i] == (stack[depth - 1] ? '}' : ']')) {
				depth--;
				i++;
				continue;
			}
			goto done;
		}
	}
done:
	free(stack);
	return r;
}

int berth_dockerfile__json_array(berth_df_json_item **items, size_t *nitems, const char *s,
				 size_t n)
{
	berth_df_json_item *it = NULL;
	size_t cnt = 0, cap = 0, i = 0;
	int not_strings = 0, rc = 0, oom = 0;

	*items = NULL;
	*nitems = 0;
	if (n == 0 || s[0] != '[')
		return 0;
	i = skip_ws(s, n, 1);
	if (i < n && s[i] == ']')
		return 1;
	for (;;) {
		i = skip_ws(s, n, i);
		if (i >= n)
			goto out;
		if (s[i] == '"') {
			berth_buf b = BERTH_BUF_INIT(0);
			size_t st = i;

			i = scan_string(s, n, i, &b, &oom);
			if (!i || oom || berth_buf_puts(&b, "") < 0) {
				berth_buf_dispose(&b);
				rc = oom ? -1 : 0;
				goto out;
			}
			if (cnt == cap) {
				size_t nc = cap ? cap * 2 : 8;
				berth_df_json_item *p = realloc(it, nc * sizeof(*p));

				if (!p) {
					berth_buf_dispose(&b);
					rc = -1;
					goto out;
				}
				it = p;
				cap = nc;
			}
			it[cnt].off = st;
			it[cnt].len = b.len;
			it[cnt++].text = berth_buf_detach(&b, NULL);
		} else {
			not_strings = 1;
			if (!(i = scan_value(s, n, i)))
				goto out;
		}
		i = skip_ws(s, n, i);
		if (i >= n)
			goto out;
		if (s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] == ']')
			break;
		goto out;
	}
	if (not_strings) {
		rc = -2;
		goto out;
	}
	*items = it;
	*nitems = cnt;
	return 1;
out:
	berth_dockerfile__json_free(it, cnt);
	return rc;
}

void berth_dockerfile__json_free(berth_df_json_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i].text);
	free(items);
}
