/*
 * admin_replication.h - `berth admin replication ...` (cmd_admin_replication.c),
 * reached from cmd_admin.c once the global options are parsed.
 */
#ifndef BERTH_CLI_ADMIN_REPLICATION_H
#define BERTH_CLI_ADMIN_REPLICATION_H

#include "args.h"

#include "berth/client.h"

/* What cmd_admin.c hands over: the connected client and how to print. */
typedef struct berth_admin_conn {
	berth_client *c;
	const char *base; /* "https://host:port", or "" to let the client choose */
	int json;	  /* --format json */
} berth_admin_conn;

/* argv[0] is "replication", argv[1] the verb. Returns the exit code. */
int cmd_admin_replication(const berth_admin_conn *a, int argc, char **argv);

/* Option tables of the replication verbs, listed in cmd_admin_specs (help, man check). */
extern const berth_args_spec cmd_admin_replication_spec;
extern const berth_args_spec cmd_admin_replication_executions_spec;
extern const berth_args_spec cmd_admin_replication_registries_create_spec;

#endif
