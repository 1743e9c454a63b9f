/*
 * proxies.h - `http.trusted_proxies`: the CIDRs of the load balancers in
 * front of `berth serve`, and the client address of a request behind them.
 *
 * Behind a proxy every client shares the proxy's address. Only when the
 * peer is a trusted proxy does the server believe X-Forwarded-For; then the
 * client is the rightmost address of that list that is not itself a trusted
 * proxy (each proxy appends the address it saw, so entries left of the first
 * untrusted one were written by the client and prove nothing). The empty
 * list (the default) trusts nobody: direct clients see no change.
 */
#ifndef BERTH_SERVER_PROXIES_H
#define BERTH_SERVER_PROXIES_H

#include "berth/common.h"

#include <stddef.h>

/* At most this many CIDRs in http.trusted_proxies. */
#define BERTH_PROXIES_MAX 64
/* X-Forwarded-For entries looked at, from the right. */
#define BERTH_PROXIES_XFF_HOPS_MAX 32
/* Room for any textual address (INET6_ADDRSTRLEN). */
#define BERTH_PROXIES_ADDR_MAX 46

typedef struct berth_proxy_cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address (4 bytes used for IPv4) */
	unsigned bits;		/* prefix length */
} berth_proxy_cidr;

typedef struct berth_proxies {
	size_t n;
	berth_proxy_cidr v[BERTH_PROXIES_MAX];
} berth_proxies;

/**
 * Parse `list`: CIDRs or plain addresses ("10.0.0.0/8, 127.0.0.1, ::1/128")
 * separated by commas and/or spaces; NULL or "" is the empty list.
 * BERTH_EINVALID naming the bad entry; BERTH_ETOOBIG past BERTH_PROXIES_MAX.
 */
int berth_proxies_parse(berth_proxies *out, const char *list) BERTH_WARN_UNUSED;

/** 1 if the textual address `addr` (IPv4, IPv6) lies in one of the CIDRs. */
int berth_proxies_trusted(const berth_proxies *p, const char *addr);

/**
 * The client address of a request from `peer` carrying X-Forwarded-For
 * `xff` (NULL if absent), written to `out` (at least BERTH_PROXIES_ADDR_MAX
 * bytes): `peer` unless it is trusted and `xff` names a valid address; an
 * IPv4-mapped IPv6 address is written as plain IPv4. Returns `out`.
 */
const char *berth_proxies_client(const berth_proxies *p, const char *peer, const char *xff,
				 char *out, size_t outlen);

#endif
