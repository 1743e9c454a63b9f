/*
 * buf.h - the growable capped buffer (public: berth/buf.h) and the helpers
 * over it that stay inside libberth (none today: the OCI error body belongs
 * to the registry, berth_registry_error_body).
 */
#ifndef BERTH_UTIL_BUF_H
#define BERTH_UTIL_BUF_H

#include "berth/buf.h"

#endif
