/*
 * lazy.c - dlopen() at first use for the libraries of util/lazy.h.
 */
#include "util/lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static berth_lazy_lib *loading; /* set only inside pthread_once's routine */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void load(void)
{
	berth_lazy_lib *lib = loading;

	lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		fprintf(stderr, "berth: cannot load %s (%s); install the Debian package %s\n",
			lib->soname, dlerror(), lib->package);
		abort();
	}
}

static void ensure(berth_lazy_lib *lib)
{
	pthread_mutex_lock(&load_lock);
	loading = lib;
	pthread_once(&lib->once, load);
	pthread_mutex_unlock(&load_lock);
}

void *berth_lazy_sym(berth_lazy_lib *lib, const char *name)
{
	void *p;

	/* pthread_once takes no argument: one library loads at a time */
	ensure(lib);
	p = dlsym(lib->handle, name);
	if (!p) {
		fprintf(stderr,
			"berth: %s has no %s (%s); berth was built against another version\n",
			lib->soname, name, dlerror());
		abort();
	}
	return p;
}

void *berth_lazy_cached(berth_lazy_slot *slot, berth_lazy_lib *lib, const char *name)
{
	void *p = atomic_load_explicit(slot, memory_order_acquire);

	if (!p) {
		p = berth_lazy_sym(lib, name);
		atomic_store_explicit(slot, p, memory_order_release);
	}
	return p;
}
