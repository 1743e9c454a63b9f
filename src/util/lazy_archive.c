/*
 * lazy_archive.c - the libarchive functions berth calls, loading libarchive
 * (and libxml2, ICU, lzma, ... behind it) at first use (util/lazy.h).
 */
#include "util/lazy.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

berth_lazy_lib berth_lazy_arch = BERTH_LAZY_LIB(BERTH_SONAME_ARCHIVE, "libarchive13");

BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_copy_stat,
		(struct archive_entry * a0, const struct stat *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * a0),
	      (a0))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_free, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, const char *, archive_entry_hardlink, (struct archive_entry * a0),
	      (a0))
BERTH_LAZY_FN(berth_lazy_arch, struct archive_entry *, archive_entry_new, (void), ())
BERTH_LAZY_FN(berth_lazy_arch, const char *, archive_entry_pathname, (struct archive_entry * a0),
	      (a0))
BERTH_LAZY_FN(berth_lazy_arch, __LA_MODE_T, archive_entry_perm, (struct archive_entry * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_dev, (struct archive_entry * a0, dev_t a1),
		(a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_filetype,
		(struct archive_entry * a0, unsigned int a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_gid, (struct archive_entry * a0, la_int64_t a1),
		(a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_gname,
		(struct archive_entry * a0, const char *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_hardlink,
		(struct archive_entry * a0, const char *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_ino64,
		(struct archive_entry * a0, la_int64_t a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_mtime,
		(struct archive_entry * a0, time_t a1, long a2), (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_nlink,
		(struct archive_entry * a0, unsigned int a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_pathname,
		(struct archive_entry * a0, const char *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_perm,
		(struct archive_entry * a0, __LA_MODE_T a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1),
		(a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_symlink,
		(struct archive_entry * a0, const char *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_uid, (struct archive_entry * a0, la_int64_t a1),
		(a0, a1))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_set_uname,
		(struct archive_entry * a0, const char *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_entry_size_is_set, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_entry_sparse_count, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, const char *, archive_entry_symlink, (struct archive_entry * a0),
	      (a0))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_unset_atime, (struct archive_entry * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_unset_birthtime, (struct archive_entry * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_unset_ctime, (struct archive_entry * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_arch, archive_entry_xattr_add_entry,
		(struct archive_entry * a0, const char *a1, const void *a2, size_t a3),
		(a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_arch, const char *, archive_error_string, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, la_int64_t, archive_filter_bytes, (struct archive * a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_filter_code, (struct archive * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, la_ssize_t, archive_read_data,
	      (struct archive * a0, void *a1, size_t a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_data_block,
	      (struct archive * a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_free, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, struct archive *, archive_read_new, (void), ())
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_next_header,
	      (struct archive * a0, struct archive_entry **a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_open,
	      (struct archive * a0, void *a1, archive_open_callback *a2, archive_read_callback *a3,
	       archive_close_callback *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_open_fd, (struct archive * a0, int a1, size_t a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_open_filename,
	      (struct archive * a0, const char *a1, size_t a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_open_memory,
	      (struct archive * a0, const void *a1, size_t a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_filter_all, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_filter_gzip, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_filter_zstd, (struct archive * a0), (a0))
/* ADD's archives (src/lib/build/add.c) */
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_filter_bzip2, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_filter_xz, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, time_t, archive_entry_mtime, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, long, archive_entry_mtime_nsec, (struct archive_entry * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_format_gnutar, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_format_raw, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_format_tar, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_read_support_format_zip, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_close, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, la_ssize_t, archive_write_data,
	      (struct archive * a0, const void *a1, size_t a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_arch, la_ssize_t, archive_write_data_block,
	      (struct archive * a0, const void *a1, size_t a2, la_int64_t a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_arch, struct archive *, archive_write_disk_new, (void), ())
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_disk_set_options, (struct archive * a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_finish_entry, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_free, (struct archive * a0), (a0))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_header,
	      (struct archive * a0, struct archive_entry *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, struct archive *, archive_write_new, (void), ())
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_open,
	      (struct archive * a0, void *a1, archive_open_callback *a2, archive_write_callback *a3,
	       archive_close_callback *a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_open_fd, (struct archive * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_set_bytes_in_last_block,
	      (struct archive * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_set_bytes_per_block,
	      (struct archive * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_set_format_option,
	      (struct archive * a0, const char *a1, const char *a2, const char *a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_arch, int, archive_write_set_format_pax_restricted, (struct archive * a0),
	      (a0))

void(archive_set_error)(struct archive *a, int err, const char *fmt, ...)
{
	static berth_lazy_slot slot;
	__typeof__(archive_set_error) *f = (__typeof__(archive_set_error) *)berth_lazy_cached(
		&slot, &berth_lazy_arch, "archive_set_error");
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f(a, err, "%s", msg);
}
