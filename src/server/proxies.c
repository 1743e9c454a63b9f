/*
 * proxies.c - trusted proxies and the client address behind them (see
 * proxies.h). Addresses are compared as bytes after inet_pton, so "::1" and
 * "0:0::1" are one address and no textual trick passes a CIDR check.
 */
#include "server/proxies.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse one textual address; an IPv4-mapped IPv6 address becomes IPv4. */
static int parse_addr(const char *s, int *family, unsigned char out[16])
{
	unsigned char v6[16];

	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, v6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)v6)) {
		memcpy(out, v6 + 12, 4);
		*family = AF_INET;
	} else {
		memcpy(out, v6, 16);
		*family = AF_INET6;
	}
	return 0;
}

static int parse_cidr(berth_proxy_cidr *c, const char *entry)
{
	char addr[BERTH_PROXIES_ADDR_MAX + 8];
	const char *slash = strchr(entry, '/');
	size_t alen = slash ? (size_t)(slash - entry) : strlen(entry);
	unsigned max;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, entry, alen);
	addr[alen] = '\0';
	if (parse_addr(addr, &c->family, c->addr) < 0)
		return -1;
	max = c->family == AF_INET ? 32 : 128;
	c->bits = max;
	if (slash) {
		char *end;
		unsigned long b;

		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		b = strtoul(slash + 1, &end, 10);
		if (*end || b > max)
			return -1;
		c->bits = (unsigned)b;
	}
	/* Keep the network part only: "10.1.2.3/8" means 10.0.0.0/8. */
	for (unsigned i = c->bits; i < max; i++)
		c->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return 0;
}

int berth_proxies_parse(berth_proxies *out, const char *list)
{
	const char *p = list ? list : "";

	memset(out, 0, sizeof(*out));
	for (;;) {
		char entry[BERTH_PROXIES_ADDR_MAX + 8];
		size_t len;

		p += strspn(p, ", \t");
		if (!*p)
			return 0;
		len = strcspn(p, ", \t");
		if (len >= sizeof(entry))
			return berth_error_set(BERTH_EINVALID,
					       "trusted proxy \"%.64s...\" is too long", p);
		memcpy(entry, p, len);
		entry[len] = '\0';
		p += len;
		if (out->n >= BERTH_PROXIES_MAX)
			return berth_error_set(BERTH_ETOOBIG, "more than %d trusted proxies",
					       BERTH_PROXIES_MAX);
		if (parse_cidr(&out->v[out->n], entry) < 0)
			return berth_error_set(BERTH_EINVALID,
					       "trusted proxy \"%s\" is not an address or CIDR",
					       entry);
		out->n++;
	}
}

static int in_cidr(const berth_proxy_cidr *c, int family, const unsigned char *a)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (c->family != family || memcmp(c->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ c->addr[full]) & (unsigned char)(0xff00u >> rest)) == 0;
}

static int trusted_bytes(const berth_proxies *p, int family, const unsigned char *a)
{
	for (size_t i = 0; i < p->n; i++)
		if (in_cidr(&p->v[i], family, a))
			return 1;
	return 0;
}

int berth_proxies_trusted(const berth_proxies *p, const char *addr)
{
	unsigned char a[16];
	int family;

	if (!p->n || !addr || parse_addr(addr, &family, a) < 0)
		return 0;
	return trusted_bytes(p, family, a);
}

/* The last entry of the list [s, end), trimmed, into out; -1 if too long. */
static int entry_from_right(const char *s, const char *end, char *out, size_t outlen)
{
	const char *a = end, *b;

	while (a > s && (a[-1] == ' ' || a[-1] == '\t'))
		a--;
	b = a;
	while (b > s && b[-1] != ',')
		b--;
	while (b < a && (*b == ' ' || *b == '\t'))
		b++;
	if ((size_t)(a - b) >= outlen)
		return -1;
	memcpy(out, b, (size_t)(a - b));
	out[a - b] = '\0';
	return 0;
}

const char *berth_proxies_client(const berth_proxies *p, const char *peer, const char *xff,
				 char *out, size_t outlen)
{
	const char *end;

	snprintf(out, outlen, "%s", peer ? peer : "");
	if (!xff || !berth_proxies_trusted(p, peer))
		return out;
	end = xff + strlen(xff);
	for (int hop = 0; hop < BERTH_PROXIES_XFF_HOPS_MAX && end > xff; hop++) {
		char entry[BERTH_PROXIES_ADDR_MAX + 1], text[BERTH_PROXIES_ADDR_MAX];
		const char *comma;
		unsigned char a[16];
		int family;

		if (entry_from_right(xff, end, entry, sizeof(entry)) < 0 ||
		    parse_addr(entry, &family, a) < 0 || !inet_ntop(family, a, text, sizeof(text)))
			break; /* garbage: the last good hop stands */
		snprintf(out, outlen, "%s", text);
		if (!trusted_bytes(p, family, a))
			break;
		comma = memrchr(xff, ',', (size_t)(end - xff));
		end = comma ? comma : xff;
	}
	return out;
}
