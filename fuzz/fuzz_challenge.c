/*
 * fuzz_challenge.c - libFuzzer target for the client's WWW-Authenticate
 * parser (berth_client__parse_challenges, src/lib/client/auth.c).
 *
 * Invariants: never more challenges than asked for; every scheme, parameter
 * name and value is NUL-terminated inside its field; schemes and parameter
 * names are non-empty and lowercased; at most MAX_PARAMS parameters; the
 * lookup finds each stored parameter by its name in any case.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client/internal.h"

static void check_lower(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == 0 || n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_client__challenge ch[BERTH_CLIENT__MAX_CHALLENGES + 1];
	size_t max, n;
	char *s;

	if (size < 1)
		return 0;
	max = data[0] % (BERTH_CLIENT__MAX_CHALLENGES + 1);
	if (!(s = malloc(size)))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	/* A guard entry past `max` must stay untouched. */
	memset(&ch[max], 0xA5, sizeof(ch[max]));
	n = berth_client__parse_challenges(s, ch, max);
	if (n > max)
		abort();
	for (size_t i = 0; i < sizeof(ch[max]); i++)
		if (((unsigned char *)&ch[max])[i] != 0xA5)
			abort();
	for (size_t i = 0; i < n; i++) {
		check_lower(ch[i].scheme, sizeof(ch[i].scheme));
		if (ch[i].nparams > BERTH_CLIENT__MAX_PARAMS)
			abort();
		for (size_t j = 0; j < ch[i].nparams; j++) {
			char upper[sizeof(ch[i].params[j].name)];
			const char *v;

			check_lower(ch[i].params[j].name, sizeof(ch[i].params[j].name));
			if (strnlen(ch[i].params[j].value, sizeof(ch[i].params[j].value)) ==
			    sizeof(ch[i].params[j].value))
				abort();
			strcpy(upper, ch[i].params[j].name);
			for (char *u = upper; *u; u++)
				*u = (char)toupper((unsigned char)*u);
			v = berth_client__challenge_param(&ch[i], upper);
			if (!v)
				abort();
		}
	}
	free(s);
	return 0;
}
