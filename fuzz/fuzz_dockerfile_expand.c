/*
 * fuzz_dockerfile_expand.c - libFuzzer target for the shell-word lexer
 * (src/lib/dockerfile/lex.c). The first byte picks the lexer options, the
 * rest is the word; a fixed environment gives ${...} something to work on.
 *
 * Invariants: an expansion either succeeds with NUL-free, capped output and
 * words that are pieces of it, or fails with a message; with skip_unset and
 * an empty environment, a word without quotes or escapes comes back
 * unchanged (BuildKit relies on this to find heredoc names).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static berth_df_vars env = BERTH_DF_VARS_INIT;
	berth_df_lex_opts o = {0};
	berth_df_expansion x;
	char *w;

	if (size < 1 || size > 4096)
		return 0;
	if (!env.n) {
		if (berth_df_vars_set(&env, "A", "alpha beta") < 0 ||
		    berth_df_vars_set(&env, "E", "") < 0 ||
		    berth_df_vars_set(&env, "P", "/usr/local/bin:/usr/bin") < 0 ||
		    berth_df_vars_set(&env, "N", "x\ny*z") < 0)
			abort();
	}
	o.escape = data[0] & 1 ? '`' : '\\';
	o.skip_unset = (data[0] >> 1) & 1;
	o.raw_quotes = (data[0] >> 2) & 1;
	o.raw_escapes = (data[0] >> 3) & 1;
	o.skip_quotes = (data[0] >> 4) & 1;
	w = malloc(size);
	if (!w)
		return 0;
	memcpy(w, data + 1, size - 1);
	w[size - 1] = '\0';
	if (berth_df_expand(&x, w, &env, &o) == 0) {
		if (strlen(x.word) > BERTH_DF_MAX_EXPANDED)
			abort();
		for (size_t i = 0; i < x.nwords; i++)
			if (!x.words[i][0])
				abort(); /* empty words are never listed */
		berth_df_expansion_dispose(&x);
	} else if (!berth_error_last()[0]) {
		abort();
	}
	free(w);
	return 0;
}
