/*
 * b64.c - strict base64 codecs for the auth module: unpadded base64url for
 * JWS segments and robot secrets, padded standard base64 for Basic
 * credentials. Decoders refuse anything that is not the one canonical
 * encoding of some bytes (bad characters, wrong padding, non-zero unused
 * bits), so a token or header has exactly one accepted spelling.
 */
#include "util/b64.h"

static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static int std_val(unsigned char c)
{
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '-' || c == '_')
		return -1;
	return url_val(c);
}

size_t berth_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void berth_b64url_encode(char *out, const unsigned char *in, size_t n)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = url_alpha[v >> 18 & 63];
		out[o++] = url_alpha[v >> 12 & 63];
		out[o++] = url_alpha[v >> 6 & 63];
		out[o++] = url_alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = url_alpha[v >> 18 & 63];
		out[o++] = url_alpha[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = url_alpha[v >> 18 & 63];
		out[o++] = url_alpha[v >> 12 & 63];
		out[o++] = url_alpha[v >> 6 & 63];
	}
	out[o] = '\0';
}

/* Decode n symbols (no padding) with the given alphabet; strict. */
static long decode(unsigned char *out, size_t out_max, const char *in, size_t n,
		   int (*val)(unsigned char))
{
	size_t o = 0, rem = n % 4;
	unsigned acc = 0;
	int bits = 0;

	if (rem == 1)
		return -1;
	if (n / 4 * 3 + (rem ? rem - 1 : 0) > out_max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* The leftover bits of the last symbol must be zero (canonical form). */
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}

long berth_b64url_decode(unsigned char *out, size_t out_max, const char *in, size_t n)
{
	return decode(out, out_max, in, n, url_val);
}

long berth_b64_decode(unsigned char *out, size_t out_max, const char *in, size_t n)
{
	size_t pad = 0;

	if (n % 4)
		return -1;
	if (n >= 1 && in[n - 1] == '=')
		pad++;
	if (n >= 2 && in[n - 2] == '=')
		pad++;
	/* "====" or "x===" are not base64. */
	if (pad && n - pad < 2)
		return -1;
	return decode(out, out_max, in, n - pad, std_val);
}
