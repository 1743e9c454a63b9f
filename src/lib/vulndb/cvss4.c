/*
 * cvss4.c - CVSS v4.0 scores from vectors, as FIRST's CVSS v4.0 specification
 * (section 8, "CVSS v4.0 Scoring") and its reference calculator compute them:
 * the vector's effective metrics select a MacroVector (six equivalence
 * classes EQ1..EQ6) whose score comes from the expert lookup table; the
 * score is then lowered by the mean, over the EQs that have a next lower
 * MacroVector, of that MacroVector's score difference times the vector's
 * severity distance from the MacroVector's highest severity vector divided
 * by the MacroVector's depth. Threat (E) and environmental metrics take
 * part as the specification says (CVSS-BT/BE/BTE); supplemental ones are
 * parsed and ignored.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define CVSS4_VECTOR_MAX 512
#define CVSS4_PREFIX "CVSS:4.0/"
#define CVSS4_BASE_METRICS 11
#define CVSS4_ROUND_EPSILON 1e-6

/* The metrics in the order the specification requires them (section 7). */
enum {
	C_AV,
	C_AC,
	C_AT,
	C_PR,
	C_UI,
	C_VC,
	C_VI,
	C_VA,
	C_SC,
	C_SI,
	C_SA, /* base */
	C_E,  /* threat */
	C_CR,
	C_IR,
	C_AR,
	C_MAV,
	C_MAC,
	C_MAT,
	C_MPR,
	C_MUI,
	C_MVC,
	C_MVI,
	C_MVA,
	C_MSC,
	C_MSI,
	C_MSA, /* environmental */
	C_S,
	C_AU,
	C_R,
	C_V,
	C_RE,
	C_U, /* supplemental */
	C_COUNT
};

/* Name and accepted values (space separated; X = not defined) of each metric. */
static const struct {
	const char *key, *values;
} metrics[C_COUNT] = {
	{"AV", "N A L P"},    {"AC", "L H"},
	{"AT", "N P"},	      {"PR", "N L H"},
	{"UI", "N P A"},      {"VC", "H L N"},
	{"VI", "H L N"},      {"VA", "H L N"},
	{"SC", "H L N"},      {"SI", "H L N"},
	{"SA", "H L N"},      {"E", "X A P U"},
	{"CR", "X H M L"},    {"IR", "X H M L"},
	{"AR", "X H M L"},    {"MAV", "X N A L P"},
	{"MAC", "X L H"},     {"MAT", "X N P"},
	{"MPR", "X N L H"},   {"MUI", "X N P A"},
	{"MVC", "X H L N"},   {"MVI", "X H L N"},
	{"MVA", "X H L N"},   {"MSC", "X H L N"},
	{"MSI", "X S H L N"}, {"MSA", "X S H L N"},
	{"S", "X N P"},	      {"AU", "X N Y"},
	{"R", "X A U I"},     {"V", "X D C"},
	{"RE", "X L M H"},    {"U", "X Clear Green Amber Red"},
};

/* A parsed vector: the first letter of each metric's value, 'X' if absent. */
typedef struct cvss4 {
	char v[C_COUNT];
} cvss4;

/*
 * The MacroVector scores of the specification's lookup table, in tenths,
 * a row per EQ1, EQ2, EQ3 (row 6*EQ1 + 3*EQ2 + EQ3), a column per EQ4, EQ5,
 * EQ6 (column 6*EQ4 + 2*EQ5 + EQ6); -1 where no MacroVector exists (EQ3=2 needs EQ6=1).
 */
static const signed char macro_tenths[18][18] = {
	/* EQ1=0 EQ2=0 EQ3=0 */ {100, 99, 98, 95, 95, 92, 100, 96, 93, 87, 91, 81, 93, 90, 89, 80,
				 81, 68},
	/* EQ1=0 EQ2=0 EQ3=1 */
	{98, 95, 95, 92, 90, 84, 93, 92, 89, 81, 81, 65, 88, 80, 78, 70, 69, 48},
	/* EQ1=0 EQ2=0 EQ3=2 */
	{-1, 92, -1, 82, -1, 72, -1, 79, -1, 69, -1, 50, -1, 69, -1, 55, -1, 27},
	/* EQ1=0 EQ2=1 EQ3=0 */
	{99, 97, 95, 92, 92, 85, 95, 91, 90, 83, 84, 71, 92, 81, 82, 71, 72, 53},
	/* EQ1=0 EQ2=1 EQ3=1 */
	{95, 93, 92, 85, 85, 73, 92, 82, 80, 72, 70, 59, 84, 70, 71, 52, 50, 30},
	/* EQ1=0 EQ2=1 EQ3=2 */
	{-1, 86, -1, 75, -1, 52, -1, 71, -1, 52, -1, 29, -1, 63, -1, 29, -1, 17},
	/* EQ1=1 EQ2=0 EQ3=0 */
	{98, 95, 94, 87, 91, 81, 94, 89, 86, 74, 77, 64, 87, 75, 74, 63, 63, 49},
	/* EQ1=1 EQ2=0 EQ3=1 */
	{94, 89, 88, 77, 76, 67, 86, 76, 74, 58, 59, 50, 72, 57, 57, 52, 52, 25},
	/* EQ1=1 EQ2=0 EQ3=2 */
	{-1, 83, -1, 70, -1, 54, -1, 65, -1, 58, -1, 26, -1, 53, -1, 21, -1, 13},
	/* EQ1=1 EQ2=1 EQ3=0 */
	{95, 90, 88, 76, 76, 70, 90, 77, 75, 62, 61, 53, 77, 66, 68, 59, 52, 30},
	/* EQ1=1 EQ2=1 EQ3=1 */
	{89, 78, 76, 67, 62, 58, 74, 59, 57, 57, 47, 23, 61, 52, 57, 29, 24, 16},
	/* EQ1=1 EQ2=1 EQ3=2 */
	{-1, 71, -1, 59, -1, 30, -1, 58, -1, 26, -1, 15, -1, 23, -1, 13, -1, 6},
	/* EQ1=2 EQ2=0 EQ3=0 */
	{93, 87, 86, 72, 75, 58, 86, 74, 74, 61, 56, 34, 70, 54, 52, 40, 40, 22},
	/* EQ1=2 EQ2=0 EQ3=1 */
	{85, 75, 74, 55, 62, 51, 72, 57, 55, 41, 46, 19, 53, 36, 34, 19, 19, 8},
	/* EQ1=2 EQ2=0 EQ3=2 */
	{-1, 64, -1, 51, -1, 20, -1, 47, -1, 21, -1, 11, -1, 24, -1, 9, -1, 4},
	/* EQ1=2 EQ2=1 EQ3=0 */
	{88, 75, 73, 53, 60, 50, 73, 55, 59, 40, 41, 20, 54, 43, 45, 22, 20, 11},
	/* EQ1=2 EQ2=1 EQ3=1 */
	{75, 55, 58, 45, 40, 21, 61, 51, 48, 18, 20, 9, 46, 18, 17, 7, 8, 2},
	/* EQ1=2 EQ2=1 EQ3=2 */
	{-1, 53, -1, 24, -1, 14, -1, 24, -1, 12, -1, 5, -1, 10, -1, 3, -1, 1},
};

static int bad(const char *vec, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid CVSS v4.0 vector '%.100s': %s", vec, why);
}

/* 1 if value (len bytes) is one of the space-separated words of list. */
static int one_of(const char *list, const char *value, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");

		if (n == len && memcmp(p, value, len) == 0)
			return 1;
		p += n;
		p += *p == ' ';
	}
	return 0;
}

/* Parse "CVSS:4.0/AV:N/..." into c: metrics in order, base ones required. */
static int parse(const char *vector, cvss4 *c)
{
	const char *p;
	int next = 0;

	memset(c->v, 'X', sizeof(c->v));
	if (!vector || strnlen(vector, CVSS4_VECTOR_MAX + 1) > CVSS4_VECTOR_MAX)
		return bad(vector ? vector : "", "missing or too long");
	if (strncmp(vector, CVSS4_PREFIX, strlen(CVSS4_PREFIX)) != 0)
		return bad(vector, "does not start with " CVSS4_PREFIX);
	for (p = vector + strlen(CVSS4_PREFIX);; p++) {
		size_t len = strcspn(p, "/"), klen = strcspn(p, ":/");

		if (klen >= len || klen == 0 || klen + 1 == len)
			return bad(vector, "expected METRIC:VALUE parts");
		while (next < C_COUNT && (strlen(metrics[next].key) != klen ||
					  memcmp(metrics[next].key, p, klen) != 0)) {
			if (next < CVSS4_BASE_METRICS)
				return bad(vector, "a base metric is missing or out of order");
			next++;
		}
		if (next == C_COUNT)
			return bad(vector, "unknown, repeated or out of order metric");
		if (!one_of(metrics[next].values, p + klen + 1, len - klen - 1))
			return bad(vector, "unknown metric value");
		c->v[next++] = p[klen + 1];
		p += len;
		if (!*p)
			break;
	}
	if (next < CVSS4_BASE_METRICS)
		return bad(vector, "a base metric is missing");
	return 0;
}

/* The value a metric scores with: its modified value if set, else its own
 * or, for E, CR, IR and AR when not defined, the worst case. */
static char eff(const cvss4 *c, int m)
{
	if (m == C_E && c->v[m] == 'X')
		return 'A';
	if ((m == C_CR || m == C_IR || m == C_AR) && c->v[m] == 'X')
		return 'H';
	if (m < CVSS4_BASE_METRICS && c->v[C_MAV + m] != 'X')
		return c->v[C_MAV + m];
	return c->v[m];
}

static void macro_vector(const cvss4 *c, int eq[6])
{
	char av = eff(c, C_AV), pr = eff(c, C_PR), ui = eff(c, C_UI);
	char vc = eff(c, C_VC), vi = eff(c, C_VI), va = eff(c, C_VA);
	int any_n = av == 'N' || pr == 'N' || ui == 'N';

	eq[0] = av == 'N' && pr == 'N' && ui == 'N' ? 0 : any_n && av != 'P' ? 1 : 2;
	eq[1] = eff(c, C_AC) == 'L' && eff(c, C_AT) == 'N' ? 0 : 1;
	eq[2] = vc == 'H' && vi == 'H' ? 0 : vc == 'H' || vi == 'H' || va == 'H' ? 1 : 2;
	if (eff(c, C_SI) == 'S' || eff(c, C_SA) == 'S')
		eq[3] = 0;
	else
		eq[3] = eff(c, C_SC) == 'H' || eff(c, C_SI) == 'H' || eff(c, C_SA) == 'H' ? 1 : 2;
	eq[4] = eff(c, C_E) == 'A' ? 0 : eff(c, C_E) == 'P' ? 1 : 2;
	eq[5] = (eff(c, C_CR) == 'H' && vc == 'H') || (eff(c, C_IR) == 'H' && vi == 'H') ||
				(eff(c, C_AR) == 'H' && va == 'H')
			? 0
			: 1;
}

/* The MacroVector's score, NAN if it does not exist. */
static double macro_score(int e1, int e2, int e3, int e4, int e5, int e6)
{
	if (e1 > 2 || e2 > 1 || e3 > 2 || e4 > 2 || e5 > 2 || e6 > 1)
		return NAN;
	if (macro_tenths[6 * e1 + 3 * e2 + e3][6 * e4 + 2 * e5 + e6] < 0)
		return NAN;
	return macro_tenths[6 * e1 + 3 * e2 + e3][6 * e4 + 2 * e5 + e6] / 10.0;
}

/*
 * The highest severity vectors of each EQ level (the specification's
 * "max_composed"): value letters of AV PR UI / AC AT / VC VI VA CR IR AR
 * (by EQ3 then EQ6) / SC SI SA / E, at most 5 per level, NULL ended.
 */
static const char *const max_eq1[3][6] = {{"NNN"}, {"ANN", "NLN", "NNP"}, {"PNN", "ALP"}};
static const char *const max_eq2[2][6] = {{"LN"}, {"HN", "LP"}};
static const char *const max_eq3eq6[3][2][6] = {
	{{"HHHHHH"}, {"HHLMMH", "HHHMMM"}},
	{{"LHHHHH", "HLHHHH"}, {"LHLHMH", "LHHHMM", "HLHMHM", "HLLMHH", "LLHHHM"}},
	{{NULL}, {"LLLHHH"}},
};
static const char *const max_eq4[3][6] = {{"HSS"}, {"HHH"}, {"LLL"}};
static const char *const max_eq5[3][6] = {{"A"}, {"P"}, {"U"}};

/* The metrics the severity distances use, in the order they are summed. */
enum {
	D_AV,
	D_PR,
	D_UI,
	D_AC,
	D_AT,
	D_VC,
	D_VI,
	D_VA,
	D_SC,
	D_SI,
	D_SA,
	D_CR,
	D_IR,
	D_AR,
	D_E,
	D_COUNT
};

/*
 * Per distance: its metric and its values from most to least severe; a
 * value's severity level is its position in steps of 0.1 (SC's first
 * value, H, is level 0.1: it has no S above it).
 */
static const struct {
	int metric;
	const char *order;
	int first;
} dist_metrics[D_COUNT] = {
	[D_AV] = {C_AV, "NALP", 0}, [D_PR] = {C_PR, "NLH", 0},	[D_UI] = {C_UI, "NPA", 0},
	[D_AC] = {C_AC, "LH", 0},   [D_AT] = {C_AT, "NP", 0},	[D_VC] = {C_VC, "HLN", 0},
	[D_VI] = {C_VI, "HLN", 0},  [D_VA] = {C_VA, "HLN", 0},	[D_SC] = {C_SC, "HLN", 1},
	[D_SI] = {C_SI, "SHLN", 0}, [D_SA] = {C_SA, "SHLN", 0}, [D_CR] = {C_CR, "HML", 0},
	[D_IR] = {C_IR, "HML", 0},  [D_AR] = {C_AR, "HML", 0},	[D_E] = {C_E, "APU", 0},
};

/* Severity level of value v of distance i (0 most severe), NAN for a value it has not. */
static double level(int i, char v)
{
	const char *at = v ? strchr(dist_metrics[i].order, v) : NULL;

	return at ? (double)((at - dist_metrics[i].order) + dist_metrics[i].first) / 10 : NAN;
}

/*
 * Severity distances from the max vector made of the five parts, of a
 * vector whose levels are own[]; 1 if none is negative (the max vector is
 * at least as severe everywhere).
 */
static int distances(const double own[D_COUNT], const char *p1, const char *p2, const char *p36,
		     const char *p4, const char *p5, double d[D_COUNT])
{
	char maxv[D_COUNT];
	int ok = 1;

	memcpy(maxv + D_AV, p1, 3);
	memcpy(maxv + D_AC, p2, 2);
	memcpy(maxv + D_VC, p36, 3);
	memcpy(maxv + D_SC, p4, 3);
	memcpy(maxv + D_CR, p36 + 3, 3);
	maxv[D_E] = p5[0];
	for (int i = 0; i < D_COUNT; i++) {
		d[i] = own[i] - level(i, maxv[i]);
		if (!(d[i] >= 0))
			ok = 0;
	}
	return ok;
}

/* The distances from the first max vector of the MacroVector that dominates c. */
static void max_distances(const cvss4 *c, const int eq[6], double d[D_COUNT])
{
	const char *const *l1 = max_eq1[eq[0]], *const *l2 = max_eq2[eq[1]];
	const char *const *l36 = max_eq3eq6[eq[2]][eq[5]], *const *l4 = max_eq4[eq[3]];
	const char *const *l5 = max_eq5[eq[4]];
	double own[D_COUNT];

	for (int i = 0; i < D_COUNT; i++)
		own[i] = level(i, eff(c, dist_metrics[i].metric));
	/* The reference keeps the last candidate's distances if none dominates. */
	for (int a = 0; l1[a]; a++)
		for (int b = 0; l2[b]; b++)
			for (int e = 0; l36[e]; e++)
				for (int f = 0; l4[f]; f++)
					for (int g = 0; l5[g]; g++)
						if (distances(own, l1[a], l2[b], l36[e], l4[f],
							      l5[g], d))
							return;
}

/* Max severity depths of the MacroVectors (in steps of 0.1), by EQ level. */
static const int depth_eq1[3] = {1, 4, 5}, depth_eq2[2] = {1, 2}, depth_eq4[3] = {6, 5, 4};
static const int depth_eq3eq6[3][2] = {{7, 6}, {8, 8}, {0, 10}};

/* The score of the next lower MacroVector of EQ3 and EQ6 together (NAN if none). */
static double lower_eq3eq6(const int q[6])
{
	if (q[2] == 0 && q[5] == 0)
		return fmax(macro_score(q[0], q[1], 0, q[3], q[4], 1),
			    macro_score(q[0], q[1], 1, q[3], q[4], 0));
	if (q[2] == 1 && q[5] == 0)
		return macro_score(q[0], q[1], 1, q[3], q[4], 1);
	if (q[2] == 2)
		return NAN;					    /* 21 -> 32 does not exist */
	return macro_score(q[0], q[1], q[2] + 1, q[3], q[4], q[5]); /* 01 -> 11, 11 -> 21 */
}

/*
 * Round half up to one decimal as the reference calculator does: it adds
 * 1e-6 first so that a sum meant to be 1.45 but computed as
 * 1.4499999999999993 still rounds to 1.5.
 */
static double round1(double x)
{
	double t = (x + CVSS4_ROUND_EPSILON) * 10, r = floor(t);

	if (t - r >= 0.5)
		r += 1;
	return r / 10;
}

static double score_of(const cvss4 *c)
{
	static const int impact[] = {C_VC, C_VI, C_VA, C_SC, C_SI, C_SA};
	double d[D_COUNT] = {0}, value, lower[5], dist[5], depth[5], sum = 0;
	int q[6], n = 0, none = 1;

	for (size_t i = 0; i < sizeof(impact) / sizeof(impact[0]); i++)
		none &= eff(c, impact[i]) == 'N';
	if (none)
		return 0.0;
	macro_vector(c, q);
	value = macro_score(q[0], q[1], q[2], q[3], q[4], q[5]);
	lower[0] = macro_score(q[0] + 1, q[1], q[2], q[3], q[4], q[5]);
	lower[1] = macro_score(q[0], q[1] + 1, q[2], q[3], q[4], q[5]);
	lower[2] = lower_eq3eq6(q);
	lower[3] = macro_score(q[0], q[1], q[2], q[3] + 1, q[4], q[5]);
	lower[4] = macro_score(q[0], q[1], q[2], q[3], q[4] + 1, q[5]);
	max_distances(c, q, d);
	dist[0] = d[D_AV] + d[D_PR] + d[D_UI];
	dist[1] = d[D_AC] + d[D_AT];
	dist[2] = d[D_VC] + d[D_VI] + d[D_VA] + d[D_CR] + d[D_IR] + d[D_AR];
	dist[3] = d[D_SC] + d[D_SI] + d[D_SA];
	dist[4] = 0; /* EQ5's proportion is always 0 */
	depth[0] = depth_eq1[q[0]] * 0.1;
	depth[1] = depth_eq2[q[1]] * 0.1;
	depth[2] = depth_eq3eq6[q[2]][q[5]] * 0.1;
	depth[3] = depth_eq4[q[3]] * 0.1;
	depth[4] = 1;
	for (int i = 0; i < 5; i++) {
		double available = value - lower[i];

		if (isnan(available))
			continue;
		n++;
		sum += available * (dist[i] / depth[i]);
	}
	return round1(fmax(0, fmin(10, value - (n ? sum / n : 0))));
}

int berth_vulndb_cvss4_score(const char *vector, double *score)
{
	cvss4 c;
	int rc;

	if ((rc = parse(vector, &c)) != 0)
		return rc;
	*score = score_of(&c);
	return 0;
}

int berth_vulndb_cvss_score(const char *vector, double *score)
{
	if (vector && strncmp(vector, "CVSS:4.0/", 9) == 0)
		return berth_vulndb_cvss4_score(vector, score);
	return berth_vulndb_cvss3_score(vector, score);
}
