/* SPDX-License-Identifier: GPL-2.0-or-later */
/* STUB: replaced by the port-driver work. */
#include "port_driver.h"
struct PdApi { int dummy; };
PdApi *pd_api_new(PdTable *t, const char *path, GMainContext *ctx, GError **error) { return g_new0(PdApi, 1); }
void pd_api_free(PdApi *api) { g_free(api); }
