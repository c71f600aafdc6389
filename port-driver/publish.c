/* SPDX-License-Identifier: GPL-2.0-or-later */
/* STUB: replaced by the port-driver work. */
#include "port_driver.h"
gboolean pd_publish_parse(const char *spec, const PdNetInfo *net, PdForward *out, GError **error) { g_set_error(error, PD_ERROR, PD_ERROR_INVALID, "--publish: not implemented: %s", spec); return FALSE; }
