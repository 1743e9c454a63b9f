/*
 * copy.c - berth_meta_copy and berth_meta_verify (include/berth/meta.h):
 * a whole database from one driver into another, led by the source's schema.
 *
 * Nothing here names a table. The plan is read from the source: its tables
 * (the drivers' internal ones aside, and schema_migrations, which each
 * driver numbers its own way), each table's columns and the tables its
 * foreign keys refer to; the tables are then ordered parents first. A table
 * added by a future migration is therefore copied without a change here, and
 * a target lacking it (or one of its columns) is refused before anything is
 * written.
 *
 * Rows travel as cells (internal.h): NULL, a 64-bit integer, text or bytes.
 * Each driver turns its own types into cells and back (PostgreSQL's
 * TIMESTAMPTZ and BOOLEAN become the integers SQLite stores), so a row reads
 * the same from either side, which is what the verification relies on.
 */
#include "lib/meta/internal.h"

#include "berth/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Progress is reported every this many rows of a table (and at its end). */
#define PROGRESS_EVERY 5000
/* Cap on the tables of one schema. */
#define TABLES_MAX 1024

struct strs {
	char **v;
	size_t n;
};

struct table {
	char *name;
	struct strs cols, parents;
	int placed;
};

struct plan {
	struct table *t;
	size_t n;
};

static int strs_add(void *ctx, const char *s)
{
	struct strs *l = ctx;
	char **v;

	if (l->n >= TABLES_MAX)
		return berth_error_set(BERTH_ETOOBIG, "metadata: more than %d names", TABLES_MAX);
	if (!(v = realloc(l->v, (l->n + 1) * sizeof(*v))) || !(v[l->n] = strdup(s))) {
		if (v)
			l->v = v;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	l->v = v;
	l->n++;
	return 0;
}

static void strs_free(struct strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int strs_has(const struct strs *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->t[i].name);
		strs_free(&p->t[i].cols);
		strs_free(&p->t[i].parents);
	}
	free(p->t);
	p->t = NULL;
	p->n = 0;
}

/* Parents first (a table referring to itself or outside the plan needs nothing). */
static int plan_order(struct plan *p)
{
	struct table *out = calloc(p->n ? p->n : 1, sizeof(*out));
	size_t done = 0;

	if (!out)
		return berth_error_set(BERTH_ERROR, "out of memory");
	while (done < p->n) {
		size_t before = done;

		for (size_t i = 0; i < p->n; i++) {
			struct table *t = &p->t[i];
			int ready = !t->placed;

			for (size_t k = 0; ready && k < t->parents.n; k++) {
				const char *parent = t->parents.v[k];

				if (strcmp(parent, t->name) == 0)
					continue;
				for (size_t j = 0; j < p->n; j++)
					if (strcmp(p->t[j].name, parent) == 0 && !p->t[j].placed)
						ready = 0;
			}
			if (ready) {
				t->placed = 1;
				out[done++] = *t;
			}
		}
		if (done == before) {
			free(out);
			return berth_error_set(BERTH_EUNSUPPORTED,
					       "metadata: the tables' foreign keys form a cycle");
		}
	}
	free(p->t);
	p->t = out;
	return 0;
}

static int plan_load(berth_meta *m, struct plan *p)
{
	struct strs names = {0};
	void *impl;
	const berth_meta_driver *drv = berth_meta__driver(m, &impl);
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = drv->copy_tables(impl, strs_add, &names)) != 0)
		goto done;
	if (!(p->t = calloc(names.n ? names.n : 1, sizeof(*p->t)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < names.n; i++) {
		struct table *t;

		if (strcmp(names.v[i], "schema_migrations") == 0)
			continue;
		t = &p->t[p->n++];
		t->name = names.v[i];
		names.v[i] = NULL;
		if ((rc = drv->copy_columns(impl, t->name, strs_add, &t->cols)) != 0 ||
		    (rc = drv->copy_parents(impl, t->name, strs_add, &t->parents)) != 0)
			goto done;
		if (t->cols.n > BERTH_META_COPY_COLUMNS_MAX) {
			rc = berth_error_set(BERTH_ETOOBIG, "metadata: table %s has %zu columns",
					     t->name, t->cols.n);
			goto done;
		}
	}
	rc = plan_order(p);
done:
	strs_free(&names);
	if (rc != 0)
		plan_free(p);
	return rc;
}

/* ---- row sums ---- */

struct sum {
	berth_hasher *h;
	unsigned char acc[32];
	int64_t rows;
	int64_t stop_after; /* > 0: stop once this many rows were seen */
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* acc += sha256(row) modulo 2^256: a digest of the rows as a set. */
static int sum_row(void *ctx, const berth_meta_cell *cells, size_t n)
{
	struct sum *s = ctx;
	berth_digest d;
	const char *hex;
	unsigned carry = 0;
	int rc = 0;

	if ((rc = berth_hasher_reset(s->h)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const berth_meta_cell *c = &cells[i];
		unsigned char head[9] = {0};
		uint64_t v = c->kind == BERTH_META_CELL_INT ? (uint64_t)c->i : (uint64_t)c->len;

		/* text and bytes hash alike: the drivers differ in which they store */
		head[0] = c->kind == BERTH_META_CELL_NULL  ? 'N'
			  : c->kind == BERTH_META_CELL_INT ? 'I'
							   : 'B';
		for (int k = 0; k < 8; k++)
			head[1 + k] = (unsigned char)(v >> (56 - 8 * k));
		rc = berth_hasher_update(s->h, head, c->kind == BERTH_META_CELL_NULL ? 1 : 9);
		if (rc == 0 &&
		    (c->kind == BERTH_META_CELL_TEXT || c->kind == BERTH_META_CELL_BLOB) && c->len)
			rc = berth_hasher_update(s->h, c->p, c->len);
	}
	if (rc != 0 || (rc = berth_hasher_final(s->h, &d)) != 0)
		return rc;
	hex = berth_digest_hex(&d);
	for (int k = 31; k >= 0; k--) {
		unsigned b = (unsigned)(hexval(hex[2 * k]) << 4 | hexval(hex[2 * k + 1]));

		carry += s->acc[k] + b;
		s->acc[k] = (unsigned char)carry;
		carry >>= 8;
	}
	s->rows++;
	return s->stop_after > 0 && s->rows >= s->stop_after ? 1 : 0;
}

/* Rows and sum of `table` of m over `cols`; stop_after > 0 only counts that far. */
static int table_sum(berth_meta *m, const char *table, const struct strs *cols, int64_t stop_after,
		     berth_meta_table_sum *out)
{
	struct sum s = {.stop_after = stop_after};
	void *impl;
	const berth_meta_driver *drv = berth_meta__driver(m, &impl);
	int rc;

	memset(out, 0, sizeof(*out));
	out->table = table;
	if ((rc = berth_hasher_new(&s.h, BERTH_DIGEST_SHA256)) != 0)
		return rc;
	rc = drv->copy_export(impl, table, (const char *const *)cols->v, cols->n, sum_row, &s);
	berth_hasher_free(s.h);
	if (rc != 0)
		return rc;
	out->rows = s.rows;
	for (int k = 0; k < 32; k++) {
		static const char digits[] = "0123456789abcdef";

		out->sum[2 * k] = digits[s.acc[k] >> 4];
		out->sum[2 * k + 1] = digits[s.acc[k] & 15];
	}
	return 0;
}

/* ---- the copy ---- */

/* `table` is one the driver's migrations fill (copy_seeded): its rows are no user data. */
static int is_seeded(const berth_meta_driver *drv, const char *table)
{
	for (const char *const *s = drv->copy_seeded; s && *s; s++)
		if (strcmp(*s, table) == 0)
			return 1;
	return 0;
}

/* The target has every table and column of the plan, and no rows of its own. */
static int check_target(const struct plan *p, berth_meta *to)
{
	void *impl;
	const berth_meta_driver *drv = berth_meta__driver(to, &impl);
	int rc = 0;

	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const struct table *t = &p->t[i];
		struct strs cols = {0};
		berth_meta_table_sum s;

		rc = drv->copy_columns(impl, t->name, strs_add, &cols);
		if (rc == BERTH_ENOTFOUND)
			rc = berth_error_set(BERTH_EUNSUPPORTED,
					     "metadata: the target has no table %s (is its berth "
					     "older than the source's?)",
					     t->name);
		for (size_t k = 0; rc == 0 && k < t->cols.n; k++)
			if (!strs_has(&cols, t->cols.v[k]))
				rc = berth_error_set(
					BERTH_EUNSUPPORTED,
					"metadata: the target's table %s has no column %s", t->name,
					t->cols.v[k]);
		strs_free(&cols);
		if (rc == 0 && !is_seeded(drv, t->name) &&
		    (rc = table_sum(to, t->name, &t->cols, 1, &s)) == 0 && s.rows)
			rc = berth_error_set(
				BERTH_EEXISTS,
				"metadata: the target is not empty (table %s has rows); "
				"migrate into a new database",
				t->name);
	}
	return rc;
}

struct copy_ctx {
	const berth_meta_driver *drv; /* the target's */
	void *tx;
	const struct table *t;
	int64_t rows;
	berth_meta_copy_cb cb;
	void *ctx;
};

static int copy_row(void *arg, const berth_meta_cell *cells, size_t n)
{
	struct copy_ctx *c = arg;
	int rc;

	if ((rc = c->drv->copy_insert(c->tx, c->t->name, (const char *const *)c->t->cols.v, n,
				      cells)) != 0)
		return rc;
	if (++c->rows % PROGRESS_EVERY == 0 && c->cb &&
	    (rc = c->cb(c->ctx, c->t->name, c->rows, 0)))
		return rc < 0 ? rc : berth_error_set(BERTH_ERROR, "metadata: copy stopped");
	return 0;
}

static int copy_table(berth_meta *from, struct copy_ctx *c)
{
	void *simpl;
	const berth_meta_driver *src = berth_meta__driver(from, &simpl);
	int64_t last = 0;
	int rc;

	c->rows = 0;
	if ((rc = c->drv->copy_clear(c->tx, c->t->name)) != 0 ||
	    (rc = src->copy_export(simpl, c->t->name, (const char *const *)c->t->cols.v,
				   c->t->cols.n, copy_row, c)) != 0)
		return rc;
	rc = src->copy_sequence(simpl, c->t->name, &last);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		last = 0;
	} else if (rc != 0) {
		return rc;
	}
	rc = c->drv->copy_sequence_set(c->tx, c->t->name, last);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		rc = 0;
	}
	if (rc == 0 && c->cb && (rc = c->cb(c->ctx, c->t->name, c->rows, 1)) > 0)
		rc = berth_error_set(BERTH_ERROR, "metadata: copy stopped");
	return rc;
}

static int dry_run_counts(berth_meta *from, const struct plan *p, berth_meta_copy_cb cb, void *ctx)
{
	int rc = 0;

	for (size_t i = 0; i < p->n && rc == 0; i++) {
		berth_meta_table_sum s;

		if ((rc = table_sum(from, p->t[i].name, &p->t[i].cols, 0, &s)) == 0 && cb &&
		    (rc = cb(ctx, p->t[i].name, s.rows, 1)) > 0)
			rc = 0;
	}
	return rc;
}

int berth_meta_copy(berth_meta *from, berth_meta *to, int dry_run, berth_meta_copy_cb cb, void *ctx)
{
	struct plan p = {0};
	struct copy_ctx c = {0};
	void *timpl;
	int rc;

	if (!from || !to || from == to)
		return berth_error_set(BERTH_EINVALID, "metadata: copy needs two databases");
	c.drv = berth_meta__driver(to, &timpl);
	c.cb = cb;
	c.ctx = ctx;
	if ((rc = plan_load(from, &p)) != 0 || (rc = check_target(&p, to)) != 0)
		goto done;
	if (dry_run) {
		rc = dry_run_counts(from, &p, cb, ctx);
		goto done;
	}
	if ((rc = c.drv->copy_begin(timpl, &c.tx)) != 0)
		goto done;
	for (size_t i = 0; i < p.n && rc == 0; i++) {
		c.t = &p.t[i];
		rc = copy_table(from, &c);
	}
	if (rc == 0) {
		rc = c.drv->copy_end(c.tx, 1);
	} else {
		/* keep the copy's message: the rollback's own result does not matter */
		char saved[512];
		int code = berth_error_last_code();

		snprintf(saved, sizeof(saved), "%s", berth_error_last());
		(void)c.drv->copy_end(c.tx, 0);
		berth_error_set(code, "%s", saved);
	}
done:
	plan_free(&p);
	return rc;
}

int berth_meta_verify(berth_meta *from, berth_meta *to, berth_meta_verify_cb cb, void *ctx)
{
	struct plan p = {0};
	int rc, r, bad = -1;

	if (!from || !to)
		return berth_error_set(BERTH_EINVALID, "metadata: verify needs two databases");
	if ((rc = plan_load(from, &p)) != 0)
		goto done;
	for (size_t i = 0; i < p.n && rc == 0; i++) {
		berth_meta_table_sum a, b;

		if ((rc = table_sum(from, p.t[i].name, &p.t[i].cols, 0, &a)) != 0 ||
		    (rc = table_sum(to, p.t[i].name, &p.t[i].cols, 0, &b)) != 0)
			break;
		if ((a.rows != b.rows || strcmp(a.sum, b.sum) != 0) && bad < 0)
			bad = (int)i;
		if (cb && (r = cb(ctx, &a, &b)) != 0) {
			rc = r < 0 ? r : 0; /* positive: stop, success */
			break;
		}
	}
	if (rc == 0 && bad >= 0)
		rc = berth_error_set(BERTH_EDIGEST,
				     "metadata: table %s differs between source and target",
				     p.t[bad].name);
done:
	plan_free(&p);
	return rc;
}
