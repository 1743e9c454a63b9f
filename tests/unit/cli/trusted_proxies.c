/*
 * trusted_proxies.c - `http.trusted_proxies` of `berth serve` (src/server/
 * proxies.c, linked through the front ends' library): CIDR parsing, and the
 * client address taken from X-Forwarded-For only when the peer is trusted,
 * walking the list from the right past trusted hops. Also the config file's
 * list and scalar forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "server/config.h"
#include "server/proxies.h"

static const char *client(const berth_proxies *p, const char *peer, const char *xff)
{
	static char out[BERTH_PROXIES_ADDR_MAX];

	return berth_proxies_client(p, peer, xff, out, sizeof(out));
}

static void empty_list_trusts_nobody(void **state)
{
	berth_proxies p;

	(void)state;
	assert_int_equal(berth_proxies_parse(&p, NULL), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(berth_proxies_parse(&p, " , "), 0);
	assert_int_equal(p.n, 0);
	assert_false(berth_proxies_trusted(&p, "127.0.0.1"));
	assert_string_equal(client(&p, "127.0.0.1", "203.0.113.9"), "127.0.0.1");
}

static void cidrs_match_by_prefix(void **state)
{
	berth_proxies p;

	(void)state;
	assert_int_equal(berth_proxies_parse(&p, "10.1.2.3/8, 192.168.4.0/23 ::1 fd00::/8"), 0);
	assert_int_equal(p.n, 4);
	assert_true(berth_proxies_trusted(&p, "10.255.0.1"));
	assert_false(berth_proxies_trusted(&p, "11.0.0.1"));
	assert_true(berth_proxies_trusted(&p, "192.168.5.200"));
	assert_false(berth_proxies_trusted(&p, "192.168.6.1"));
	assert_true(berth_proxies_trusted(&p, "0:0::1"));
	assert_false(berth_proxies_trusted(&p, "::2"));
	assert_true(berth_proxies_trusted(&p, "fd12:3456::1"));
	/* IPv4-mapped IPv6 is the IPv4 address. */
	assert_true(berth_proxies_trusted(&p, "::ffff:10.0.0.7"));
	assert_false(berth_proxies_trusted(&p, "not-an-address"));
	assert_false(berth_proxies_trusted(&p, NULL));
}

static void bad_entries_are_refused(void **state)
{
	berth_proxies p;

	(void)state;
	assert_int_equal(berth_proxies_parse(&p, "10.0.0.0/33"), BERTH_EINVALID);
	assert_int_equal(berth_proxies_parse(&p, "::/129"), BERTH_EINVALID);
	assert_int_equal(berth_proxies_parse(&p, "10.0.0.0/"), BERTH_EINVALID);
	assert_int_equal(berth_proxies_parse(&p, "10.0.0.0/-1"), BERTH_EINVALID);
	assert_int_equal(berth_proxies_parse(&p, "10.0.0"), BERTH_EINVALID);
	assert_int_equal(berth_proxies_parse(&p, "proxy.example"), BERTH_EINVALID);
	assert_int_equal(berth_proxies_parse(&p, "/8"), BERTH_EINVALID);
}

static void too_many_entries_are_refused(void **state)
{
	char list[BERTH_PROXIES_MAX * 16 + 32] = "";
	berth_proxies p;

	(void)state;
	for (int i = 0; i <= BERTH_PROXIES_MAX; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "10.0.%d.1,", i);
	assert_int_equal(berth_proxies_parse(&p, list), BERTH_ETOOBIG);
}

static void forwarded_for_is_believed_only_from_a_trusted_peer(void **state)
{
	berth_proxies p;

	(void)state;
	assert_int_equal(berth_proxies_parse(&p, "127.0.0.1, 10.0.0.0/8"), 0);
	/* Untrusted peer: its header is ignored. */
	assert_string_equal(client(&p, "198.51.100.7", "203.0.113.9"), "198.51.100.7");
	/* Trusted peer, one hop. */
	assert_string_equal(client(&p, "127.0.0.1", "203.0.113.9"), "203.0.113.9");
	/* No header: the peer itself. */
	assert_string_equal(client(&p, "127.0.0.1", NULL), "127.0.0.1");
	/* A client-written entry left of the first untrusted hop proves nothing. */
	assert_string_equal(client(&p, "127.0.0.1", "1.2.3.4, 203.0.113.9, 10.0.0.5"),
			    "203.0.113.9");
	/* Every hop trusted: the leftmost. */
	assert_string_equal(client(&p, "127.0.0.1", "10.0.0.9 , 10.0.0.5"), "10.0.0.9");
	/* Garbage stops the walk at the last good hop. */
	assert_string_equal(client(&p, "127.0.0.1", "203.0.113.9, junk"), "127.0.0.1");
	assert_string_equal(client(&p, "127.0.0.1", "junk, 10.0.0.5"), "10.0.0.5");
	assert_string_equal(client(&p, "127.0.0.1", ""), "127.0.0.1");
	/* Written back in canonical form. */
	assert_string_equal(client(&p, "127.0.0.1", "2001:DB8:0:0::1"), "2001:db8::1");
	assert_string_equal(client(&p, "127.0.0.1", "::ffff:203.0.113.9"), "203.0.113.9");
}

static void config_takes_a_list_or_a_string(void **state)
{
	berth_server_config cfg;
	const char yaml_list[] = "http:\n  trusted_proxies:\n    - 127.0.0.1\n    - 10.0.0.0/8\n";
	const char yaml_str[] = "http:\n  trusted_proxies: \"::1, 192.168.0.0/16\"\n";
	const char yaml_bad[] = "http:\n  trusted_proxies:\n    - 10.0.0.0/99\n";

	(void)state;
	assert_int_equal(berth_server_config_defaults(&cfg), 0);
	assert_null(cfg.trusted_proxies);
	assert_int_equal(berth_server_config_parse(&cfg, yaml_list, strlen(yaml_list), "t"), 0);
	assert_string_equal(cfg.trusted_proxies, "127.0.0.1,10.0.0.0/8");
	assert_int_equal(berth_server_config_parse(&cfg, yaml_str, strlen(yaml_str), "t"), 0);
	assert_string_equal(cfg.trusted_proxies, "::1, 192.168.0.0/16");
	assert_int_equal(berth_server_config_parse(&cfg, yaml_bad, strlen(yaml_bad), "t"),
			 BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "http.trusted_proxies"));
	berth_server_config_dispose(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_list_trusts_nobody),
		cmocka_unit_test(cidrs_match_by_prefix),
		cmocka_unit_test(bad_entries_are_refused),
		cmocka_unit_test(too_many_entries_are_refused),
		cmocka_unit_test(forwarded_for_is_believed_only_from_a_trusted_peer),
		cmocka_unit_test(config_takes_a_list_or_a_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
