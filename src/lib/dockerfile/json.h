/*
 * json.h - the exec-form JSON array reader of the Dockerfile parser (json.c).
 */
#ifndef BERTH_DOCKERFILE_JSON_H
#define BERTH_DOCKERFILE_JSON_H

#include "internal.h"

typedef struct berth_df_json_item {
	char *text; /* decoded string (malloc'd) */
	size_t len;
	size_t off; /* offset of its opening quote in the input */
} berth_df_json_item;

/*
 * Read s[0..n) (already left-trimmed) as BuildKit's parseJSON does.
 * Returns 1 (a JSON array of strings: *items, possibly empty), 0 (not JSON:
 * shell form), -2 (a JSON array with a non-string element: an error), -1 OOM.
 */
int berth_dockerfile__json_array(berth_df_json_item **items, size_t *nitems, const char *s,
				 size_t n);

void berth_dockerfile__json_free(berth_df_json_item *items, size_t n);

#endif
