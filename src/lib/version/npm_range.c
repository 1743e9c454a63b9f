/*
 * npm_range.c - npm's range syntax (node-semver's Range, default options):
 * does a version satisfy "^1.2.3 || >=2.0.0-rc.1 <3", "1.x - 2", "~1.2"...
 *
 * A range is sets separated by "||"; a set is comparators separated by
 * spaces, all of which must hold. Each comparator is desugared, as
 * node-semver does, into primitive comparators (op, version): X-ranges
 * (1.x, 1.2.*, *), tilde (~1.2.3 := >=1.2.3 <1.3.0-0), caret (^0.2.3 :=
 * >=0.2.3 <0.3.0-0), hyphen ranges (1.2 - 2 := >=1.2.0 <3.0.0-0) and the
 * plain operators < <= > >= =. ">=0.0.0" and "*" match any release.
 *
 * The prerelease rule: a version with a prerelease satisfies a set only if
 * some comparator of that set names the same major.minor.patch with a
 * prerelease (the "-0" bounds the desugaring adds count, as in node-semver).
 * And as node-semver does, a range with several sets one of which is "*"
 * is just "*".
 */
#include "internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OP_ANY, OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE, OP_NONE /* <0.0.0-0 */ };

typedef struct nv {
	uint64_t n[3];
	const char *pre; /* NULL if none */
	size_t pre_len;
} nv;

typedef struct comp {
	int op;
	nv v;
} comp;

typedef struct cset {
	comp *c;
	size_t n, cap;
} cset;

/* A parsed X-range operand: numbers with X flags, prerelease, and how it was written. */
typedef struct xr {
	uint64_t n[3];
	int x[3]; /* 1 if that part is x, X, * or missing */
	const char *pre;
	size_t pre_len;
	int plain_prefix; /* prefix before the numbers is "" or "v" */
	int num_after_x;  /* a number follows an X part ("1.x.0") */
} xr;

static const nv zero_pre = {{0, 0, 0}, "0", 1};

static int bad_range(const char *range, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid npm range '%.200s': %s", range, why);
}

static int push(cset *s, int op, nv v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		comp *c = realloc(s->c, cap * sizeof(*c));

		if (!c)
			return berth_error_set(BERTH_ERROR, "out of memory");
		s->c = c;
		s->cap = cap;
	}
	/* node-semver turns ">=0.0.0" into "" (any). */
	if (op == OP_GE && !v.pre && !v.n[0] && !v.n[1] && !v.n[2])
		op = OP_ANY;
	s->c[s->n++] = (comp){op, v};
	return 0;
}

static int num_id(const char **s, const char *e, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	while (p < e && isdigit((unsigned char)*p)) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > BERTH_SEMVER_MAX_SAFE)
			return -1;
		p++;
	}
	if (p == *s || (**s == '0' && p - *s > 1))
		return -1;
	*out = v;
	*s = p;
	return 0;
}

/* Prerelease (or build) identifiers in [s, e); pre: numbers without leading zeros. */
static int idents(const char *s, const char *e, int pre)
{
	while (s < e) {
		const char *q = s;
		int alnum = 0;

		while (q < e && (isalnum((unsigned char)*q) || *q == '-')) {
			if (!isdigit((unsigned char)*q))
				alnum = 1;
			q++;
		}
		if (q == s || (pre && !alnum && *s == '0' && q - s > 1))
			return -1;
		if (q == e)
			return 0;
		if (*q != '.' || q + 1 == e)
			return -1;
		s = q + 1;
	}
	return -1;
}

/* XRANGEPLAIN: [v=]* X(.X(.X(-pre)?(+build)?)?)? */
static int parse_xr(xr *out, const char *s, const char *e)
{
	const char *start = s, *plus, *dash;
	int parts = 0;

	memset(out, 0, sizeof(*out));
	while (s < e && (*s == 'v' || *s == '='))
		s++;
	out->plain_prefix = s == start || (s == start + 1 && *start == 'v');
	for (;;) {
		if (s < e && (*s == 'x' || *s == 'X' || *s == '*')) {
			out->x[parts] = 1;
			s++;
		} else if (num_id(&s, e, &out->n[parts]) != 0) {
			return -1;
		} else if (parts > 0 && out->x[parts - 1]) {
			out->num_after_x = 1;
		}
		parts++;
		if (parts == 3 || s == e || *s != '.')
			break;
		s++;
	}
	for (int i = parts; i < 3; i++)
		out->x[i] = 1;
	if (s == e)
		return 0;
	if (parts < 3)
		return -1;
	plus = memchr(s, '+', (size_t)(e - s));
	if (*s == '-') {
		dash = s + 1;
		s = plus ? plus : e;
		if (idents(dash, s, 1) != 0)
			return -1;
		out->pre = dash;
		out->pre_len = (size_t)(s - dash);
	}
	if (s < e && *s == '+') {
		if (idents(s + 1, e, 0) != 0)
			return -1;
		s = e;
	}
	return s == e ? 0 : -1;
}

static int anyx(const xr *x)
{
	return x->x[0] || x->x[1] || x->x[2];
}

static nv mk(uint64_t a, uint64_t b, uint64_t c)
{
	return (nv){{a, b, c}, NULL, 0};
}

static nv mk_pre0(uint64_t a, uint64_t b, uint64_t c)
{
	nv v = zero_pre;

	v.n[0] = a;
	v.n[1] = b;
	v.n[2] = c;
	return v;
}

static nv full(const xr *x)
{
	return (nv){{x->n[0], x->n[1], x->n[2]}, x->pre, x->pre_len};
}

static int caret(cset *s, const xr *x)
{
	uint64_t M = x->n[0], m = x->n[1], p = x->n[2];
	int rc;

	if (x->x[0])
		return push(s, OP_ANY, mk(0, 0, 0));
	if (x->x[1]) {
		if ((rc = push(s, OP_GE, mk(M, 0, 0))) != 0)
			return rc;
		return push(s, OP_LT, mk_pre0(M + 1, 0, 0));
	}
	if (x->x[2]) {
		if ((rc = push(s, OP_GE, mk(M, m, 0))) != 0)
			return rc;
		return push(s, OP_LT, M == 0 ? mk_pre0(0, m + 1, 0) : mk_pre0(M + 1, 0, 0));
	}
	if ((rc = push(s, OP_GE, full(x))) != 0)
		return rc;
	if (M == 0)
		return push(s, OP_LT, m == 0 ? mk_pre0(0, 0, p + 1) : mk_pre0(0, m + 1, 0));
	return push(s, OP_LT, mk_pre0(M + 1, 0, 0));
}

static int tilde(cset *s, const xr *x)
{
	uint64_t M = x->n[0], m = x->n[1];
	int rc;

	if (x->x[0])
		return push(s, OP_ANY, mk(0, 0, 0));
	if (x->x[1]) {
		if ((rc = push(s, OP_GE, mk(M, 0, 0))) != 0)
			return rc;
		return push(s, OP_LT, mk_pre0(M + 1, 0, 0));
	}
	if ((rc = push(s, OP_GE, x->x[2] ? mk(M, m, 0) : full(x))) != 0)
		return rc;
	return push(s, OP_LT, mk_pre0(M, m + 1, 0));
}

/* Plain operator (op may be OP_ANY for none / "="): X-range rules. */
static int xrange(cset *s, int op, const xr *x)
{
	uint64_t M = x->n[0], m = x->n[1];
	int rc;

	if (!anyx(x))
		return push(s, op == OP_ANY ? OP_EQ : op, full(x));
	if (x->x[0])
		return push(s, (op == OP_GT || op == OP_LT) ? OP_NONE : OP_ANY, mk(0, 0, 0));
	if (op != OP_ANY && op != OP_EQ) {
		if (x->x[1])
			m = 0;
		if (op == OP_GT) {
			op = OP_GE;
			if (x->x[1])
				M++, m = 0;
			else
				m++;
		} else if (op == OP_LE) {
			op = OP_LT;
			if (x->x[1])
				M++;
			else
				m++;
		}
		return push(s, op, op == OP_LT ? mk_pre0(M, m, 0) : mk(M, m, 0));
	}
	if (x->x[1]) {
		if ((rc = push(s, OP_GE, mk(M, 0, 0))) != 0)
			return rc;
		return push(s, OP_LT, mk_pre0(M + 1, 0, 0));
	}
	if ((rc = push(s, OP_GE, mk(M, m, 0))) != 0)
		return rc;
	return push(s, OP_LT, mk_pre0(M, m + 1, 0));
}

/* One comparator token such as "^1.2", "~>1", ">=1.2.3-rc.1", "1.x", "*". */
static int comparator(cset *s, const char *range, const char *t, const char *e)
{
	static const struct {
		const char *text;
		int op;
	} ops[] = {{">=", OP_GE}, {"<=", OP_LE}, {">", OP_GT}, {"<", OP_LT}, {"=", OP_EQ}};
	int kind = 0, op = OP_ANY; /* kind: 0 operator/none, 1 caret, 2 tilde */
	xr x;

	if (*t == '^') {
		kind = 1;
		t++;
	} else if (*t == '~') {
		kind = 2;
		t += (t + 1 < e && t[1] == '>') ? 2 : 1;
	} else {
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			size_t l = strlen(ops[i].text);

			if ((size_t)(e - t) >= l && memcmp(t, ops[i].text, l) == 0) {
				op = ops[i].op;
				t += l;
				break;
			}
		}
	}
	if (parse_xr(&x, t, e) != 0)
		return bad_range(range, "invalid comparator");
	if (kind == 1)
		return caret(s, &x);
	if (kind == 2)
		return tilde(s, &x);
	/* Plain comparators take X only as trailing parts (node-semver 7.8
	 * refuses "1.x.0" and ">=x.1"; caret, tilde and hyphen ranges take them). */
	if ((!anyx(&x) && !x.plain_prefix) || x.num_after_x)
		return bad_range(range, "invalid comparator");
	return xrange(s, op == OP_EQ && anyx(&x) ? OP_ANY : op, &x);
}

/* "A - B" */
static int hyphen(cset *s, const char *range, const xr *f, const xr *t)
{
	int rc;

	if (!f->x[0]) {
		nv from = f->x[1] ? mk(f->n[0], 0, 0) : f->x[2] ? mk(f->n[0], f->n[1], 0) : full(f);

		if (!anyx(f) && !f->plain_prefix)
			return bad_range(range, "invalid hyphen range");
		if ((rc = push(s, OP_GE, from)) != 0)
			return rc;
	}
	if (t->x[0])
		return s->n ? 0 : push(s, OP_ANY, mk(0, 0, 0));
	if (t->x[1])
		return push(s, OP_LT, mk_pre0(t->n[0] + 1, 0, 0));
	if (t->x[2])
		return push(s, OP_LT, mk_pre0(t->n[0], t->n[1] + 1, 0));
	if (!t->plain_prefix)
		return bad_range(range, "invalid hyphen range");
	return push(s, OP_LE, full(t));
}

static int is_op_only(const char *t, size_t n)
{
	static const char *const only[] = {"<", ">", "<=", ">=", "=", "~", "~>", "^"};

	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
		if (strlen(only[i]) == n && memcmp(only[i], t, n) == 0)
			return 1;
	return 0;
}

#define SET_TOKENS_MAX 512

/* One "||"-separated set in [p, e). */
static int parse_set(cset *s, const char *range, const char *p, const char *e)
{
	const char *tok[SET_TOKENS_MAX], *tend[SET_TOKENS_MAX];
	size_t nt = 0;
	int rc;

	while (p < e) {
		while (p < e && isspace((unsigned char)*p))
			p++;
		if (p == e)
			break;
		if (nt == SET_TOKENS_MAX)
			return bad_range(range, "too many comparators");
		tok[nt] = p;
		while (p < e && !isspace((unsigned char)*p))
			p++;
		tend[nt++] = p;
	}
	if (nt == 0)
		return push(s, OP_ANY, mk(0, 0, 0));
	if (nt == 3 && tend[1] - tok[1] == 1 && *tok[1] == '-') {
		xr f, t;

		if (parse_xr(&f, tok[0], tend[0]) == 0 && parse_xr(&t, tok[2], tend[2]) == 0) {
			rc = hyphen(s, range, &f, &t);
			return rc ? rc : (s->n ? 0 : push(s, OP_ANY, mk(0, 0, 0)));
		}
	}
	for (size_t i = 0; i < nt; i++) {
		const char *t = tok[i], *te = tend[i];
		char glued[BERTH_VERSION_RANGE_MAX + 1];

		/* "> 1.2", "~ 1", "^ 2": the operator belongs to the next token. */
		if (is_op_only(t, (size_t)(te - t)) && i + 1 < nt) {
			size_t a = (size_t)(te - t), b = (size_t)(tend[i + 1] - tok[i + 1]);

			memcpy(glued, t, a);
			memcpy(glued + a, tok[i + 1], b);
			t = glued;
			te = glued + a + b;
			i++;
		}
		if ((rc = comparator(s, range, t, te)) != 0)
			return rc;
	}
	return 0;
}

static int nv_cmp(const nv *a, const nv *b)
{
	for (int i = 0; i < 3; i++)
		if (a->n[i] != b->n[i])
			return a->n[i] < b->n[i] ? -1 : 1;
	if (!a->pre || !b->pre)
		return a->pre ? -1 : (b->pre ? 1 : 0);
	return berth_version__semver_pre_cmp(a->pre, a->pre_len, b->pre, b->pre_len);
}

static int test_comp(const comp *c, const nv *v)
{
	int r;

	if (c->op == OP_ANY)
		return 1;
	if (c->op == OP_NONE)
		return nv_cmp(v, &zero_pre) < 0; /* <0.0.0-0: nothing */
	r = nv_cmp(v, &c->v);
	switch (c->op) {
	case OP_EQ: return r == 0;
	case OP_LT: return r < 0;
	case OP_LE: return r <= 0;
	case OP_GT: return r > 0;
	case OP_GE: return r >= 0;
	}
	return 0;
}

static int test_set(const cset *s, const nv *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (!test_comp(&s->c[i], v))
			return 0;
	if (!v->pre)
		return 1;
	for (size_t i = 0; i < s->n; i++) {
		const comp *c = &s->c[i];
		const nv *w = c->op == OP_NONE ? &zero_pre : &c->v;

		if (c->op == OP_ANY || !w->pre)
			continue;
		if (w->n[0] == v->n[0] && w->n[1] == v->n[1] && w->n[2] == v->n[2])
			return 1;
	}
	return 0;
}

static int set_is_any(const cset *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i].op != OP_ANY)
			return 0;
	return 1;
}

static int to_nv(nv *out, const char *version)
{
	berth_semver sv;
	const berth_semver *p = &sv;
	const char *nums[3];
	size_t lens[3];
	int rc;

	if ((rc = berth_version__semver_parse(&sv, version, strlen(version))) != 0)
		return rc;
	nums[0] = p->major, nums[1] = p->minor, nums[2] = p->patch;
	lens[0] = p->major_len, lens[1] = p->minor_len, lens[2] = p->patch_len;
	for (int i = 0; i < 3; i++) {
		out->n[i] = 0;
		for (size_t k = 0; k < lens[i]; k++)
			out->n[i] = out->n[i] * 10 + (uint64_t)(nums[i][k] - '0');
	}
	out->pre = sv.pre;
	out->pre_len = sv.pre_len;
	return 0;
}

int berth_version_npm_satisfies(const char *version, const char *range, int *out)
{
	cset *sets = NULL;
	size_t nsets = 0, len;
	const char *p, *end;
	int rc, any_set = -1;
	nv v;

	*out = 0;
	if ((rc = berth_version__check("semver", version)) != 0)
		return rc;
	if (!range)
		return berth_error_set(BERTH_EINVALID, "no npm range given");
	if ((len = strnlen(range, BERTH_VERSION_RANGE_MAX + 1)) > BERTH_VERSION_RANGE_MAX)
		return berth_error_set(BERTH_ETOOBIG, "npm range longer than %d bytes",
				       BERTH_VERSION_RANGE_MAX);
	if ((rc = to_nv(&v, version)) != 0)
		return rc;
	if (!(sets = calloc(len / 2 + 2, sizeof(*sets))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (p = range, end = range + len;; nsets++) {
		const char *bar = strstr(p, "||");
		const char *se = bar ? bar : end;

		if ((rc = parse_set(&sets[nsets], range, p, se)) != 0)
			goto done;
		if (any_set < 0 && set_is_any(&sets[nsets]))
			any_set = (int)nsets;
		if (!bar) {
			nsets++;
			break;
		}
		p = bar + 2;
	}
	if (nsets > 1 && any_set >= 0) {
		*out = test_set(&sets[any_set], &v);
		goto done;
	}
	for (size_t i = 0; i < nsets && !*out; i++)
		*out = test_set(&sets[i], &v);
done:
	for (size_t i = 0; i < nsets + (rc ? 1 : 0); i++)
		free(sets[i].c);
	free(sets);
	return rc;
}
