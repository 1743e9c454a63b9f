/*
 * mapped.c - blob bodies sent from a memory mapping, with a pager thread
 * that keeps the pages sent from piling up in the resident set. See mapped.h.
 */
#include "server/mapped.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGER_PERIOD_NS 2000000L
#define PAGERS_MAX 8

typedef struct mapping {
	struct mapping *prev, *next;
	berth_mapped *owner;
	char *base;  /* page-aligned start of the mapping */
	size_t span; /* bytes mapped from base */
} mapping;

struct berth_mapped {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	mapping *live; /* doubly linked, under lock */
	int stop;
	int npagers;
	int64_t paged_at; /* when a pager last gave pages back (ns, under lock) */
	pthread_t pagers[PAGERS_MAX];
};

/*
 * Give back every page of `mp` that is mapped now. Pages behind the sender
 * are done with; pages ahead of it are not mapped yet; the few it is copying
 * at this instant are faulted in again from the page cache, at the cost of a
 * minor fault. So no bookkeeping of the sender's position is needed (asking
 * the socket, TCP_INFO, waits for the socket lock that a long send holds).
 */
static void page_out(mapping *mp)
{
	(void)madvise(mp->base, mp->span, MADV_DONTNEED);
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *pager_main(void *arg)
{
	berth_mapped *m = arg;
	struct timespec period = {0, PAGER_PERIOD_NS};

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		int64_t now;

		if (!m->live) {
			pthread_cond_wait(&m->wake, &m->lock);
			continue;
		}
		/* Another pager did it a moment ago: the pagers are there so that
		 * one runs wherever the sender runs, not to repeat each other. */
		now = now_ns();
		if (now - m->paged_at >= PAGER_PERIOD_NS / 2) {
			for (mapping *mp = m->live; mp; mp = mp->next)
				page_out(mp);
			m->paged_at = now;
		}
		pthread_mutex_unlock(&m->lock);
		nanosleep(&period, NULL);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/*
 * One pager per CPU the process may run on (up to PAGERS_MAX), each bound to
 * its CPU. A single unbound pager, on this project's 2-vCPU test machine,
 * sometimes did not run for up to ~100 ms while the sender went on, and a
 * whole 256 MiB body piled up in the resident set (the cause was not
 * established). With a pager bound to the sender's CPU, the sender cannot
 * run far without it. Beyond PAGERS_MAX CPUs the bound is kept by the
 * pagers' period alone.
 */
int berth_mapped_new(berth_mapped **out)
{
	berth_mapped *m = calloc(1, sizeof(*m));
	cpu_set_t allowed;
	int err = 0;

	if (!m)
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		CPU_ZERO(&allowed);
		CPU_SET(0, &allowed);
	}
	for (int cpu = 0; cpu < CPU_SETSIZE && m->npagers < PAGERS_MAX; cpu++) {
		cpu_set_t one;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if ((err = pthread_create(&m->pagers[m->npagers], NULL, pager_main, m)) != 0)
			break;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		(void)pthread_setaffinity_np(m->pagers[m->npagers], sizeof(one), &one);
		m->npagers++;
	}
	if (err || m->npagers == 0) {
		berth_mapped_free(m);
		return berth_error_set(BERTH_ERROR, "starting the pager threads: %s",
				       strerror(err ? err : EAGAIN));
	}
	*out = m;
	return 0;
}

void berth_mapped_free(berth_mapped *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	for (int i = 0; i < m->npagers; i++)
		pthread_join(m->pagers[i], NULL);
	if (m->live)
		berth_warn("mapped: %s", "responses still live at shutdown");
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* MHD destroys the response: unlink and unmap. */
static void mapping_free(void *cls)
{
	mapping *mp = cls;
	berth_mapped *m = mp->owner;

	pthread_mutex_lock(&m->lock);
	if (mp->prev)
		mp->prev->next = mp->next;
	else
		m->live = mp->next;
	if (mp->next)
		mp->next->prev = mp->prev;
	pthread_mutex_unlock(&m->lock);
	munmap(mp->base, mp->span);
	free(mp);
}

struct MHD_Response *berth_mapped_response(berth_mapped *m, int fd, uint64_t offset,
					   uint64_t length)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = offset & ~(page - 1);
	size_t skip = (size_t)(offset - start); /* the body starts at base + skip */
	struct MHD_Response *mr;
	mapping *mp;
	struct stat st;
	void *base;

	/* A mapping read past the end of its file raises SIGBUS: map only what
	 * the file holds now (committed blobs are never truncated). */
	if (length == 0 || length > SIZE_MAX - page || fstat(fd, &st) != 0 || st.st_size < 0 ||
	    offset > (uint64_t)st.st_size || length > (uint64_t)st.st_size - offset ||
	    !(mp = calloc(1, sizeof(*mp))))
		return NULL;
	mp->owner = m;
	mp->span = skip + (size_t)length;
	base = mmap(NULL, mp->span, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (base == MAP_FAILED) {
		free(mp);
		return NULL;
	}
	mp->base = base;
	(void)madvise(base, mp->span, MADV_SEQUENTIAL);
	mr = MHD_create_response_from_buffer_with_free_callback_cls((size_t)length, mp->base + skip,
								    mapping_free, mp);
	if (!mr) {
		munmap(base, mp->span);
		free(mp);
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	mp->next = m->live;
	if (m->live)
		m->live->prev = mp;
	m->live = mp;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	return mr;
}
