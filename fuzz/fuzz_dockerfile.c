/*
 * fuzz_dockerfile.c - libFuzzer target for the Dockerfile parser
 * (src/lib/dockerfile/parse.c, words.c, json.c, check.c) and the plan.
 *
 * Invariants checked on every input that parses: positions lie inside the
 * file, every instruction's lines are ordered and within the file, heredoc
 * bodies lie between their instruction and terminator, the tree serialises
 * to JSON; the checks and the plan never crash (they may refuse).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

static void check_pos(const berth_dockerfile *df, berth_df_pos p)
{
	if (p.line < 1 || p.line > df->nlines || p.col < 1)
		abort();
	if (p.col > strlen(df->lines[p.line - 1]) + 1)
		abort();
}

static void check_instr(const berth_dockerfile *df, const berth_df_instr *in)
{
	check_pos(df, in->pos);
	if (in->end_line < in->pos.line || in->end_line > df->nlines)
		abort();
	for (size_t i = 0; i < in->nflags; i++)
		check_pos(df, in->flags[i].pos);
	for (size_t i = 0; i < in->nargs; i++)
		check_pos(df, in->args[i].pos);
	for (size_t i = 0; i < in->nheredocs; i++) {
		const berth_df_heredoc *h = &in->heredocs[i];

		if (h->start_line <= in->pos.line || h->end_line > in->end_line ||
		    h->start_line > h->end_line || strlen(h->body) != h->body_len)
			abort();
	}
	if (in->sub)
		check_instr(df, in->sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_dockerfile *df = NULL;
	berth_df_plan *p = NULL;
	char *js = NULL;

	if (berth_dockerfile_parse(&df, (const char *)data, size, "fuzz", NULL) != 0)
		return 0;
	for (size_t i = 0; i < df->ninstrs; i++)
		check_instr(df, &df->instrs[i]);
	if (berth_dockerfile_to_json(&js, df, 0) != 0)
		abort();
	free(js);
	if (berth_dockerfile_check(df, NULL) != 0 && !berth_error_last()[0])
		abort();
	if (berth_dockerfile_plan(&p, df, NULL, NULL) == 0) {
		if (p->target >= p->nstages || !p->stages[p->target].needed)
			abort();
		if (berth_df_plan_to_json(&js, p, 0) != 0)
			abort();
		free(js);
		berth_df_plan_free(p);
	}
	berth_dockerfile_free(df);
	return 0;
}
