/*
 * parse.h - the parser's state, shared by parse.c (lines, directives,
 * continuations, heredocs) and words.c (one logical line -> instruction).
 */
#ifndef BERTH_DOCKERFILE_PARSE_H
#define BERTH_DOCKERFILE_PARSE_H

#include "internal.h"

#include <stdarg.h>

typedef struct pline {
	size_t off; /* start in the text */
	size_t len; /* without the trailing "\r\n" / "\n" */
	size_t raw; /* with them */
} pline;

/* A piece of a logical line: logical offset loff comes from (line, col). */
typedef struct seg {
	size_t loff;
	uint32_t line, col;
} seg;

typedef struct pstate {
	berth_dockerfile *df;
	berth_pool *pool;
	berth_df_error *err;
	const char *text;
	size_t len;
	pline *pl;
	size_t npl;
	pline partial; /* the line being split when an encoding/size error was found */
	size_t cur;    /* index of the next physical line to read */
	uint32_t esc;
	bool dir_done;
	berth_df_directive dirs[3];
	size_t ndir;
	berth_buf logical;
	seg *segs;
	size_t nseg, capseg;
	berth_df_instr *instrs;
	size_t ninstrs, capinstrs;
	char **comments;
	size_t ncomments, capcomments;
} pstate;

/* Source position of a logical-line offset. */
berth_df_pos berth_dockerfile__pos(const pstate *ps, size_t loff);

/* Fill `in` from the logical line's bytes [off, off+len) (newNodeFromLine). */
int berth_dockerfile__build_instr(pstate *ps, berth_df_instr *in, size_t off,
				  size_t len) BERTH_WARN_UNUSED;

/* heredocFromMatch on one word: 1 = heredoc (*name malloc'd), 0 = not, <0 = error. */
int berth_dockerfile__heredoc_word(const char *word, char **name, bool *expand, bool *chomp,
				   unsigned *fd) BERTH_WARN_UNUSED;

#endif
