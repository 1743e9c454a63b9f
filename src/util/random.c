/*
 * random.c - random bytes from the kernel and version 4 UUIDs (random.h).
 */
#include "util/random.h"

#include "berth/common.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

int berth_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return berth_error_set_errno("getrandom");
		}
		got += (size_t)r;
	}
	return 0;
}

int berth_uuid4(char out[BERTH_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	char *p = out;
	int rc = berth_random(r, sizeof(r));

	if (rc < 0)
		return rc;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[r[i] >> 4];
		*p++ = hex[r[i] & 0xf];
	}
	*p = '\0';
	return 0;
}
