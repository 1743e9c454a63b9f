/*
 * b64.h - strict base64 codecs: unpadded base64url (JWS segments, robot
 * secrets) and padded standard base64 (Basic credentials). Decoders refuse
 * anything that is not the one canonical encoding of some bytes.
 */
#ifndef BERTH_UTIL_B64_H
#define BERTH_UTIL_B64_H

#include <stddef.h>

/** Encoded length of n bytes in unpadded base64url. */
size_t berth_b64url_len(size_t n);
/** Unpadded base64url of in[0..n) into out (berth_b64url_len(n)+1 bytes, NUL added). */
void berth_b64url_encode(char *out, const unsigned char *in, size_t n);
/**
 * Strict unpadded base64url decode: only [A-Za-z0-9_-], no '=', no length
 * of 4k+1, unused trailing bits zero. Writes at most out_max bytes; returns
 * the decoded length or -1.
 */
long berth_b64url_decode(unsigned char *out, size_t out_max, const char *in, size_t n);
/**
 * Strict padded standard base64 decode (RFC 4648 section 4): length a
 * multiple of 4, '=' only as final padding, unused bits zero. Returns the
 * decoded length or -1.
 */
long berth_b64_decode(unsigned char *out, size_t out_max, const char *in, size_t n);

#endif
