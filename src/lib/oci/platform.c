/*
 * platform.c - the platform this program runs on, in OCI's terms (GOARCH
 * names and the variants containerd assumes), for "linux/<host>" defaults.
 */
#include "berth/oci.h"

const char *berth_oci_host_arch(const char **variant)
{
	*variant = NULL;
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	*variant = "v8";
	return "arm64";
#elif defined(__arm__)
	*variant = "v7";
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "amd64";
#endif
}
