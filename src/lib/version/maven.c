/*
 * maven.c - Maven version order (maven-artifact's ComparableVersion, the
 * rules of Maven 3.8, as Debian's libmaven3-core-java ships it).
 *
 * The lowercased version is split into a tree of items: '.' separates items
 * of one list, '-' and each switch between letters and digits (after a
 * letter run that follows something) open a sub-list; an empty item is 0.
 * Numbers drop leading zeros; words get aliases (a/b/m followed by a digit
 * are alpha/beta/milestone; ga, final and release are the empty qualifier;
 * cr is rc). Each list then drops trailing "null" items (0, "", empty
 * lists) from its end back to the last non-list item. Items compare by
 * kind: number > list > word, numbers by value, words by the qualifier
 * order alpha < beta < milestone < rc < snapshot < "" < sp < any other
 * word (those alphabetically), lists item by item with a missing item
 * compared as "null".
 *
 * Every string is a Maven version; only an empty string, control,
 * non-ASCII characters and the length cap are refused.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

#define MAVEN_NODES_MAX (3 * BERTH_VERSION_MAX + 8)

enum { M_INT, M_STR, M_LIST };

typedef struct mnode {
	int kind;
	const char *s; /* M_INT: digits (no leading zero, "0" for zero); M_STR: word */
	size_t n;
	int first, last, prev, next, parent; /* -1 for none */
} mnode;

typedef struct mtree {
	char low[BERTH_VERSION_MAX + 1];
	mnode node[MAVEN_NODES_MAX];
	int count;
	int stack[MAVEN_NODES_MAX];
	int depth;
} mtree;

static const char *const qualifiers[] = {"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"};
#define RELEASE_INDEX 5

static int add(mtree *t, int list, int kind, const char *s, size_t n)
{
	int i = t->count++;
	mnode *m = &t->node[i];

	*m = (mnode){kind, s, n, -1, -1, -1, -1, list};
	if (list >= 0) {
		mnode *l = &t->node[list];

		m->prev = l->last;
		if (l->last >= 0)
			t->node[l->last].next = i;
		else
			l->first = i;
		l->last = i;
	}
	return i;
}

static int is_null(const mtree *t, int i)
{
	const mnode *m = &t->node[i];

	if (m->kind == M_INT)
		return m->n == 1 && m->s[0] == '0';
	if (m->kind == M_STR)
		return m->n == 0;
	return m->first < 0;
}

static void add_word(mtree *t, int list, const char *s, size_t n, int followed_by_digit)
{
	static const struct {
		const char *from, *to;
	} aliases[] = {{"ga", ""}, {"final", ""}, {"release", ""}, {"cr", "rc"}};

	if (followed_by_digit && n == 1) {
		if (s[0] == 'a')
			s = "alpha", n = 5;
		else if (s[0] == 'b')
			s = "beta", n = 4;
		else if (s[0] == 'm')
			s = "milestone", n = 9;
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strlen(aliases[i].from) == n && memcmp(aliases[i].from, s, n) == 0) {
			s = aliases[i].to;
			n = strlen(s);
			break;
		}
	}
	add(t, list, M_STR, s, n);
}

static void add_item(mtree *t, int list, int digit, const char *s, size_t n)
{
	if (!digit) {
		add_word(t, list, s, n, 0);
		return;
	}
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	add(t, list, M_INT, s, n);
}

static int push_list(mtree *t, int list)
{
	int l = add(t, list, M_LIST, NULL, 0);

	t->stack[t->depth++] = l;
	return l;
}

static void unlink_item(mtree *t, int list, int i)
{
	mnode *l = &t->node[list], *m = &t->node[i];

	if (m->prev >= 0)
		t->node[m->prev].next = m->next;
	else
		l->first = m->next;
	if (m->next >= 0)
		t->node[m->next].prev = m->prev;
	else
		l->last = m->prev;
}

/* Drop null items from the end back to the last non-list item (lists are stepped over). */
static void normalize(mtree *t, int list)
{
	for (int i = t->node[list].last; i >= 0;) {
		int prev = t->node[i].prev;

		if (is_null(t, i))
			unlink_item(t, list, i);
		else if (t->node[i].kind != M_LIST)
			break;
		i = prev;
	}
}

static void build(mtree *t, size_t len)
{
	const char *v = t->low;
	size_t start = 0;
	int list, digit = 0;

	t->count = t->depth = 0;
	list = push_list(t, -1);
	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		if (c == '.' || c == '-') {
			if (i == start)
				add(t, list, M_INT, "0", 1);
			else
				add_item(t, list, digit, v + start, i - start);
			start = i + 1;
			if (c == '-')
				list = push_list(t, list);
		} else if (isdigit((unsigned char)c)) {
			if (!digit && i > start) {
				if (t->node[list].first >= 0)
					list = push_list(t, list);
				add_word(t, list, v + start, i - start, 1);
				start = i;
				list = push_list(t, list);
			}
			digit = 1;
		} else {
			if (digit && i > start) {
				add_item(t, list, 1, v + start, i - start);
				start = i;
				list = push_list(t, list);
			}
			digit = 0;
		}
	}
	if (len > start) {
		if (!digit && t->node[list].first >= 0)
			list = push_list(t, list);
		add_item(t, list, digit, v + start, len - start);
	}
	while (t->depth > 0)
		normalize(t, t->stack[--t->depth]);
}

static int qualifier_index(const mnode *m)
{
	for (int i = 0; i < (int)(sizeof(qualifiers) / sizeof(qualifiers[0])); i++)
		if (strlen(qualifiers[i]) == m->n && memcmp(qualifiers[i], m->s, m->n) == 0)
			return i;
	return -1;
}

/* comparableQualifier(a) vs comparableQualifier(b), b NULL for the release "". */
static int word_cmp(const mnode *a, const mnode *b)
{
	int ia = qualifier_index(a), ib = b ? qualifier_index(b) : RELEASE_INDEX;
	int c;

	if (ia >= 0 && ib >= 0)
		return berth_version__sign(ia - ib);
	if (ia >= 0 || ib >= 0)
		return ia >= 0 ? -1 : 1;
	c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
	if (c)
		return berth_version__sign(c);
	return a->n < b->n ? -1 : a->n > b->n;
}

static int item_cmp(const mtree *ta, int a, const mtree *tb, int b);

/* An item against nothing (b is missing). */
static int item_cmp_null(const mtree *t, int a)
{
	const mnode *m = &t->node[a];

	if (m->kind == M_INT)
		return is_null(t, a) ? 0 : 1;
	if (m->kind == M_STR)
		return word_cmp(m, NULL);
	for (int i = m->first; i >= 0; i = t->node[i].next) {
		int c = item_cmp_null(t, i);

		if (c)
			return c;
	}
	return 0;
}

static int list_cmp(const mtree *ta, int a, const mtree *tb, int b)
{
	int i = ta->node[a].first, j = tb->node[b].first;

	while (i >= 0 || j >= 0) {
		int c;

		if (i < 0)
			c = -item_cmp_null(tb, j);
		else if (j < 0)
			c = item_cmp_null(ta, i);
		else
			c = item_cmp(ta, i, tb, j);
		if (c)
			return c;
		if (i >= 0)
			i = ta->node[i].next;
		if (j >= 0)
			j = tb->node[j].next;
	}
	return 0;
}

static int item_cmp(const mtree *ta, int a, const mtree *tb, int b)
{
	const mnode *x = &ta->node[a], *y = &tb->node[b];
	/* number > list > word */
	static const int rank[] = {[M_INT] = 2, [M_STR] = 0, [M_LIST] = 1};

	if (x->kind != y->kind)
		return rank[x->kind] < rank[y->kind] ? -1 : 1;
	if (x->kind == M_INT)
		return berth_version__numcmp(x->s, x->n, y->s, y->n);
	if (x->kind == M_STR)
		return word_cmp(x, y);
	return list_cmp(ta, a, tb, b);
}

static int maven_parse(mtree *t, const char *v)
{
	size_t n = strlen(v);

	if (!n)
		return berth_error_set(BERTH_EINVALID, "invalid maven version '': empty");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ' || c >= 0x7f)
			return berth_error_set(BERTH_EINVALID,
					       "invalid maven version '%s': space, control or "
					       "non-ASCII character",
					       v);
		t->low[i] = (char)tolower(c);
	}
	t->low[n] = '\0';
	build(t, n);
	return 0;
}

int berth_version__maven_cmp(const char *a, const char *b, int *cmp)
{
	/* Two trees are ~40 KB: keep them off small thread stacks. */
	static _Thread_local mtree x, y;
	int rc;

	if ((rc = maven_parse(&x, a)) != 0 || (rc = maven_parse(&y, b)) != 0)
		return rc;
	*cmp = list_cmp(&x, 0, &y, 0);
	return 0;
}
