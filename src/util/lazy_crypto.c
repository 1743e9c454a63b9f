/*
 * lazy_crypto.c - the libcrypto (OpenSSL) functions berth calls, loading it
 * at first use (util/lazy.h): libcrypto alone costs ~2.5 ms of relocations
 * per process, and parsing or linting a Dockerfile never hashes nor signs.
 * Macros of the headers (OPENSSL_free, sk_*_num, ...) name real functions
 * (CRYPTO_free, OPENSSL_sk_num): those are the ones forwarded.
 */
/* SHA256_Init & co. are deprecated in OpenSSL 3 but their context is serialisable. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "util/lazy.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ct.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/stack.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <strings.h>

berth_lazy_lib berth_lazy_crypto = BERTH_LAZY_LIB(BERTH_SONAME_CRYPTO, "libssl3");

BERTH_LAZY_VOID(berth_lazy_crypto, ASN1_OBJECT_free, (ASN1_OBJECT * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, const unsigned char *, ASN1_STRING_get0_data,
	      (const ASN1_STRING *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, ASN1_STRING_length, (const ASN1_STRING *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, ASN1_UTF8STRING_free, (ASN1_UTF8STRING * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, long int, BIO_ctrl, (BIO * a0, int a1, long int a2, void *a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, int, BIO_free, (BIO * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, BIO *, BIO_new, (const BIO_METHOD *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, BIO *, BIO_new_mem_buf, (const void *a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, const BIO_METHOD *, BIO_s_mem, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, BIGNUM *, BN_bin2bn, (const unsigned char *a0, int a1, BIGNUM *a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, BN_bn2binpad, (const BIGNUM *a0, unsigned char *a1, int a2),
	      (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_crypto, BN_free, (BIGNUM * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, BIGNUM *, BN_new, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, int, BN_sub, (BIGNUM * a0, const BIGNUM *a1, const BIGNUM *a2),
	      (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_crypto, CRYPTO_free, (void *a0, const char *a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, CRYPTO_memcmp, (const void *a0, const void *a1, size_t a2),
	      (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_crypto, ECDSA_SIG_free, (ECDSA_SIG * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, ECDSA_SIG_get0,
		(const ECDSA_SIG *a0, const BIGNUM **a1, const BIGNUM **a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, ECDSA_SIG *, ECDSA_SIG_new, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, int, ECDSA_SIG_set0, (ECDSA_SIG * a0, BIGNUM *a1, BIGNUM *a2),
	      (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_crypto, EC_GROUP_free, (EC_GROUP * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, EC_GROUP_get_order,
	      (const EC_GROUP *a0, BIGNUM *a1, BN_CTX *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, EC_GROUP *, EC_GROUP_new_by_curve_name, (int a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, ERR_clear_error, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DecodeBlock,
	      (unsigned char *a0, const unsigned char *a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_Digest,
	      (const void *a0, size_t a1, unsigned char *a2, unsigned int *a3, const EVP_MD *a4,
	       ENGINE *a5),
	      (a0, a1, a2, a3, a4, a5))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestFinal_ex,
	      (EVP_MD_CTX * a0, unsigned char *a1, unsigned int *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestInit_ex,
	      (EVP_MD_CTX * a0, const EVP_MD *a1, ENGINE *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestSign,
	      (EVP_MD_CTX * a0, unsigned char *a1, size_t *a2, const unsigned char *a3, size_t a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestSignInit,
	      (EVP_MD_CTX * a0, EVP_PKEY_CTX **a1, const EVP_MD *a2, ENGINE *a3, EVP_PKEY *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestUpdate,
	      (EVP_MD_CTX * a0, const void *a1, size_t a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestVerify,
	      (EVP_MD_CTX * a0, const unsigned char *a1, size_t a2, const unsigned char *a3,
	       size_t a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_DigestVerifyInit,
	      (EVP_MD_CTX * a0, EVP_PKEY_CTX **a1, const EVP_MD *a2, ENGINE *a3, EVP_PKEY *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_EncodeBlock,
	      (unsigned char *a0, const unsigned char *a1, int a2), (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_crypto, EVP_MD_CTX_free, (EVP_MD_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, PKCS8_PRIV_KEY_INFO *, EVP_PKEY2PKCS8, (const EVP_PKEY *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, EVP_PKEY_CTX_free, (EVP_PKEY_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_PKEY_CTX *, EVP_PKEY_CTX_new, (EVP_PKEY * a0, ENGINE *a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_CTX_set_rsa_padding, (EVP_PKEY_CTX * a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_CTX_set_signature_md,
	      (EVP_PKEY_CTX * a0, const EVP_MD *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_eq, (const EVP_PKEY *a0, const EVP_PKEY *a1),
	      (a0, a1))
BERTH_LAZY_VOID(berth_lazy_crypto, EVP_PKEY_free, (EVP_PKEY * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_get_base_id, (const EVP_PKEY *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_get_bits, (const EVP_PKEY *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_get_group_name,
	      (const EVP_PKEY *a0, char *a1, size_t a2, size_t *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_get_utf8_string_param,
	      (const EVP_PKEY *a0, const char *a1, char *a2, size_t a3, size_t *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_is_a, (const EVP_PKEY *a0, const char *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_pairwise_check, (EVP_PKEY_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_verify,
	      (EVP_PKEY_CTX * a0, const unsigned char *a1, size_t a2, const unsigned char *a3,
	       size_t a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, EVP_PKEY_verify_init, (EVP_PKEY_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, const EVP_MD *, EVP_md5, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, const EVP_MD *, EVP_sha256, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, const EVP_MD *, EVP_sha384, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, const EVP_MD *, EVP_sha512, (void), ())
BERTH_LAZY_VOID(berth_lazy_crypto, GENERAL_NAMES_free, (GENERAL_NAMES * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, unsigned char *, HMAC,
	      (const EVP_MD *a0, const void *a1, int a2, const unsigned char *a3, size_t a4,
	       unsigned char *a5, unsigned int *a6),
	      (a0, a1, a2, a3, a4, a5, a6))
BERTH_LAZY_FN(berth_lazy_crypto, ASN1_OBJECT *, OBJ_txt2obj, (const char *a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, OPENSSL_STACK *, OPENSSL_sk_dup, (const OPENSSL_STACK *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, OPENSSL_sk_free, (OPENSSL_STACK * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, OPENSSL_STACK *, OPENSSL_sk_new_null, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, int, OPENSSL_sk_num, (const OPENSSL_STACK *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, OPENSSL_sk_pop_free, (OPENSSL_STACK * a0, void (*a1)(void *)),
		(a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, OPENSSL_sk_push, (OPENSSL_STACK * a0, const void *a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, void *, OPENSSL_sk_value, (const OPENSSL_STACK *a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, PEM_read_bio,
	      (BIO * a0, char **a1, char **a2, unsigned char **a3, long int *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_PKEY *, PEM_read_bio_PUBKEY,
	      (BIO * a0, EVP_PKEY **a1, pem_password_cb(*a2), void *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_PKEY *, PEM_read_bio_PrivateKey,
	      (BIO * a0, EVP_PKEY **a1, pem_password_cb(*a2), void *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, X509 *, PEM_read_bio_X509,
	      (BIO * a0, X509 **a1, pem_password_cb(*a2), void *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, int, PEM_write_bio,
	      (BIO * a0, const char *a1, const char *a2, const unsigned char *a3, long int a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_crypto, int, PEM_write_bio_PrivateKey,
	      (BIO * a0, const EVP_PKEY *a1, const EVP_CIPHER *a2, const unsigned char *a3, int a4,
	       pem_password_cb(*a5), void *a6),
	      (a0, a1, a2, a3, a4, a5, a6))
BERTH_LAZY_VOID(berth_lazy_crypto, PKCS8_PRIV_KEY_INFO_free, (PKCS8_PRIV_KEY_INFO * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, RAND_bytes, (unsigned char *a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, unsigned char *, SHA256,
	      (const unsigned char *a0, size_t a1, unsigned char *a2), (a0, a1, a2))
/* The low-level SHA-256 context is plain data: the s3 store persists it between processes. */
BERTH_LAZY_FN(berth_lazy_crypto, int, SHA256_Init, (SHA256_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, SHA256_Update, (SHA256_CTX * a0, const void *a1, size_t a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, SHA256_Final, (unsigned char *a0, SHA256_CTX *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, ASN1_OCTET_STRING *, X509_EXTENSION_get_data,
	      (X509_EXTENSION * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, X509_STORE_CTX_free, (X509_STORE_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, X509_VERIFY_PARAM *, X509_STORE_CTX_get0_param,
	      (const X509_STORE_CTX *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_STORE_CTX_get_error, (const X509_STORE_CTX *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_STORE_CTX_init,
	      (X509_STORE_CTX * a0, X509_STORE *a1, X509 *a2, struct stack_st_X509 *a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, X509_STORE_CTX *, X509_STORE_CTX_new, (void), ())
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_STORE_add_cert, (X509_STORE * a0, X509 *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_crypto, X509_STORE_free, (X509_STORE * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, X509_STORE *, X509_STORE_new, (void), ())
BERTH_LAZY_VOID(berth_lazy_crypto, X509_VERIFY_PARAM_set_time, (X509_VERIFY_PARAM * a0, time_t a1),
		(a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_cmp_time, (const ASN1_TIME *a0, time_t *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_crypto, X509_free, (X509 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, const ASN1_TIME *, X509_get0_notAfter, (const X509 *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, const ASN1_TIME *, X509_get0_notBefore, (const X509 *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, X509_EXTENSION *, X509_get_ext, (const X509 *a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_get_ext_by_OBJ,
	      (const X509 *a0, const ASN1_OBJECT *a1, int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, void *, X509_get_ext_d2i,
	      (const X509 *a0, int a1, int *a2, int *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_crypto, uint32_t, X509_get_extended_key_usage, (X509 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, uint32_t, X509_get_extension_flags, (X509 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_PKEY *, X509_get_pubkey, (X509 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_verify_cert, (X509_STORE_CTX * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, const char *, X509_verify_cert_error_string, (long int a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, ASN1_UTF8STRING *, d2i_ASN1_UTF8STRING,
	      (ASN1_UTF8STRING * *a0, const unsigned char **a1, long int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_PKEY *, d2i_AutoPrivateKey,
	      (EVP_PKEY * *a0, const unsigned char **a1, long int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, ECDSA_SIG *, d2i_ECDSA_SIG,
	      (ECDSA_SIG * *a0, const unsigned char **a1, long int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, EVP_PKEY *, d2i_PUBKEY,
	      (EVP_PKEY * *a0, const unsigned char **a1, long int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, X509 *, d2i_X509,
	      (X509 * *a0, const unsigned char **a1, long int a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, i2d_ECDSA_SIG, (const ECDSA_SIG *a0, unsigned char **a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, i2d_PKCS8_PRIV_KEY_INFO,
	      (const PKCS8_PRIV_KEY_INFO *a0, unsigned char **a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, i2d_PUBKEY, (const EVP_PKEY *a0, unsigned char **a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, i2d_X509, (const X509 *a0, unsigned char **a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_crypto, SCT_LIST_free, (STACK_OF(SCT) * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, size_t, SCT_get0_extensions, (const SCT *a0, unsigned char **a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, size_t, SCT_get0_log_id, (const SCT *a0, unsigned char **a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, size_t, SCT_get0_signature, (const SCT *a0, unsigned char **a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, uint64_t, SCT_get_timestamp, (const SCT *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, sct_version_t, SCT_get_version, (const SCT *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_crypto, X509_EXTENSION_free, (X509_EXTENSION * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, STACK_OF(X509) *, X509_STORE_CTX_get0_chain,
	      (const X509_STORE_CTX *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, X509_EXTENSION *, X509_delete_ext, (X509 * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, X509 *, X509_dup, (const X509 *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, X509_PUBKEY *, X509_get_X509_PUBKEY, (const X509 *a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_get_ext_by_NID, (const X509 *a0, int a1, int a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_crypto, int, X509_up_ref, (X509 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_crypto, int, i2d_X509_PUBKEY, (const X509_PUBKEY *a0, unsigned char **a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_crypto, int, i2d_re_X509_tbs, (X509 * a0, unsigned char **a1), (a0, a1))

/*
 * Variadic: the key parameter OpenSSL reads for the type (EVP_PKEY_Q_keygen(3)):
 * the modulus size for "RSA", the curve name for "EC", none for the others.
 */
EVP_PKEY *(EVP_PKEY_Q_keygen)(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	static berth_lazy_slot slot;
	__typeof__(EVP_PKEY_Q_keygen) *f = (__typeof__(EVP_PKEY_Q_keygen) *)berth_lazy_cached(
		&slot, &berth_lazy_crypto, "EVP_PKEY_Q_keygen");
	EVP_PKEY *k;
	va_list ap;

	va_start(ap, type);
	if (strcasecmp(type, "RSA") == 0)
		k = f(libctx, propq, type, va_arg(ap, size_t));
	else if (strcasecmp(type, "EC") == 0)
		k = f(libctx, propq, type, va_arg(ap, char *));
	else
		k = f(libctx, propq, type);
	va_end(ap);
	return k;
}
