/*
 * lazy_pq.c - the libpq functions berth calls, loading libpq at first use
 * (util/lazy.h): only a server or command whose metadata lives in
 * PostgreSQL (the `postgres` driver of meta) needs it.
 */
#include "util/lazy.h"

#include <libpq-fe.h>

berth_lazy_lib berth_lazy_pq = BERTH_LAZY_LIB(BERTH_SONAME_PQ, "libpq5");

BERTH_LAZY_FN(berth_lazy_pq, PGconn *, PQconnectdb, (const char *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_pq, PQfinish, (PGconn * a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, ConnStatusType, PQstatus, (const PGconn *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, PGTransactionStatusType, PQtransactionStatus, (const PGconn *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, char *, PQerrorMessage, (const PGconn *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, PGresult *, PQexec, (PGconn * a0, const char *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_pq, PGresult *, PQexecParams,
	      (PGconn * a0, const char *a1, int a2, const Oid *a3, const char *const *a4,
	       const int *a5, const int *a6, int a7),
	      (a0, a1, a2, a3, a4, a5, a6, a7))
BERTH_LAZY_FN(berth_lazy_pq, PGresult *, PQprepare,
	      (PGconn * a0, const char *a1, const char *a2, int a3, const Oid *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_pq, PGresult *, PQexecPrepared,
	      (PGconn * a0, const char *a1, int a2, const char *const *a3, const int *a4,
	       const int *a5, int a6),
	      (a0, a1, a2, a3, a4, a5, a6))
BERTH_LAZY_FN(berth_lazy_pq, ExecStatusType, PQresultStatus, (const PGresult *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, char *, PQresultErrorMessage, (const PGresult *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, char *, PQresultErrorField, (const PGresult *a0, int a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_pq, PQclear, (PGresult * a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, int, PQntuples, (const PGresult *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, int, PQnfields, (const PGresult *a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, char *, PQgetvalue, (const PGresult *a0, int a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_pq, int, PQgetisnull, (const PGresult *a0, int a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_pq, int, PQgetlength, (const PGresult *a0, int a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_pq, char *, PQcmdTuples, (PGresult * a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, int, PQlibVersion, (void), ())
BERTH_LAZY_FN(berth_lazy_pq, PQnoticeProcessor, PQsetNoticeProcessor,
	      (PGconn * a0, PQnoticeProcessor a1, void *a2), (a0, a1, a2))
/* streaming a whole table (meta's copy, `berth migrate`) */
BERTH_LAZY_FN(berth_lazy_pq, int, PQsendQueryParams,
	      (PGconn * a0, const char *a1, int a2, const Oid *a3, const char *const *a4,
	       const int *a5, const int *a6, int a7),
	      (a0, a1, a2, a3, a4, a5, a6, a7))
BERTH_LAZY_FN(berth_lazy_pq, int, PQsetSingleRowMode, (PGconn * a0), (a0))
BERTH_LAZY_FN(berth_lazy_pq, PGresult *, PQgetResult, (PGconn * a0), (a0))
