/*
 * util.c - small helpers of the sign module: base64 (OpenSSL's EVP coder,
 * with the padding and alphabet checked here since EVP is lenient about
 * neither), hex, and JSON field readers that name the field in errors.
 */
#include "internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int berth_sign_b64_encode(char **out, const void *in, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;

	*out = malloc(cap);
	if (!*out)
		return berth_error_set(BERTH_ERROR, "out of memory");
	EVP_EncodeBlock((unsigned char *)*out, in, (int)n);
	return 0;
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int berth_sign_b64_decode(unsigned char **out, size_t *out_len, const char *in, size_t n)
{
	char *tmp = NULL;
	size_t m = n, pad = 0;
	int len;

	*out = NULL;
	while (m > 0 && in[m - 1] == '=' && pad < 2) {
		m--;
		pad++;
	}
	for (size_t i = 0; i < m; i++)
		if (!b64_char(in[i]))
			return berth_error_set(BERTH_EINVALID, "invalid base64");
	if (m % 4 == 1 || (pad && (m + pad) % 4 != 0))
		return berth_error_set(BERTH_EINVALID, "invalid base64 length");
	/* EVP_DecodeBlock wants padded input: pad a copy. */
	tmp = malloc(m + 4);
	*out = malloc(3 * (m / 4 + 1) + 1);
	if (!tmp || !*out) {
		free(tmp);
		free(*out);
		*out = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	memcpy(tmp, in, m);
	pad = (4 - m % 4) % 4;
	memset(tmp + m, '=', pad);
	len = EVP_DecodeBlock(*out, (unsigned char *)tmp, (int)(m + pad));
	free(tmp);
	if (len < 0) {
		free(*out);
		*out = NULL;
		return berth_error_set(BERTH_EINVALID, "invalid base64");
	}
	*out_len = (size_t)len - pad; /* EVP counts the padding as zero bytes */
	return 0;
}

void berth_sign__hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int berth_sign__unhex(unsigned char *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return berth_error_set(BERTH_EINVALID, "hex value of the wrong length");
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return berth_error_set(BERTH_EINVALID, "invalid hex");
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int berth_sign__json_load(json_t **out, const void *data, size_t len, size_t max, const char *what)
{
	json_error_t err;

	*out = NULL;
	if (len > max)
		return berth_error_set(BERTH_ETOOBIG, "%s larger than %zu bytes", what, max);
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (!*out)
		return berth_error_set(BERTH_EINVALID, "%s is not valid JSON: %s", what, err.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return berth_error_set(BERTH_EINVALID, "%s is not a JSON object", what);
	}
	return 0;
}

const char *berth_sign__json_str(json_t *obj, const char *key, const char *what, int required)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (required || v)
		berth_error_set(BERTH_EINVALID, "%s: \"%s\" must be a string", what, key);
	return NULL;
}

int berth_sign__json_b64(json_t *obj, const char *key, const char *what, unsigned char **out,
			 size_t *len)
{
	json_t *v = json_object_get(obj, key);
	int rc;

	*out = NULL;
	if (!json_is_string(v))
		return berth_error_set(BERTH_EINVALID, "%s: \"%s\" must be a base64 string", what,
				       key);
	rc = berth_sign_b64_decode(out, len, json_string_value(v), json_string_length(v));
	if (rc < 0)
		return berth_error_set(rc, "%s: \"%s\" is not valid base64", what, key);
	return 0;
}

int berth_sign__json_int64(json_t *obj, const char *key, const char *what, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 20) {
		long long x = strtoll(json_string_value(v), &end, 10);

		if (*end == '\0' && x >= 0) {
			*out = x;
			return 0;
		}
	}
	return berth_error_set(BERTH_EINVALID, "%s: \"%s\" must be an integer", what, key);
}

int berth_sign_hex_decode(unsigned char *out, size_t n, const char *hex)
{
	return berth_sign__unhex(out, n, hex);
}
