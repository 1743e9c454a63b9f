/*
 * internal.h - what the files of the cred module share (not public): a
 * counter of libcrypt calls that lets tests prove that
 * berth_cred_password_burn() really hashes, and the shape check of stored
 * hashes shared by htpasswd import and verification.
 */
#ifndef BERTH_CRED_INTERNAL_H
#define BERTH_CRED_INTERNAL_H

#include "berth/cred.h"

#include <stdatomic.h>
#include <stddef.h>

/** Number of crypt_rn() calls made by this process (for tests). */
extern atomic_ulong berth_cred__crypt_calls;

/** 1 if `h` (n bytes) is a bcrypt or SHA-crypt hash of sane shape and cost. */
int berth_cred__hash_wellformed(const char *h, size_t n);

#endif
