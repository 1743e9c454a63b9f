/*
 * random.h - random bytes from the kernel (getrandom(2)) and version 4
 * UUIDs made of them: no library to load for an upload id or an SBOM's
 * serial number.
 */
#ifndef BERTH_UTIL_RANDOM_H
#define BERTH_UTIL_RANDOM_H

#include <stddef.h>

#define BERTH_UUID_LEN 36 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */

/** n random bytes into buf (retried on EINTR and short reads); 0 or a negative code. */
int berth_random(void *buf, size_t n);

/** A random (version 4, RFC 4122 variant) UUID in lower-case text, NUL-terminated. */
int berth_uuid4(char out[BERTH_UUID_LEN + 1]);

#endif
