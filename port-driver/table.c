/* SPDX-License-Identifier: GPL-2.0-or-later */
/* STUB: replaced by the port-driver work. */
#include "port_driver.h"
G_DEFINE_QUARK(pd-error-quark, pd_error)
struct PdTable { Slirp *slirp; };
PdTable *pd_table_new(Slirp *slirp, const PdNetInfo *net) { PdTable *t = g_new0(PdTable, 1); t->slirp = slirp; (void)net; return t; }
void pd_table_free(PdTable *t) { g_free(t); }
gboolean pd_table_add(PdTable *t, const PdForward *fwd, guint *id, GError **error) { g_set_error(error, PD_ERROR, PD_ERROR_SLIRP, "not implemented"); return FALSE; }
gboolean pd_table_remove(PdTable *t, guint id, GError **error) { g_set_error(error, PD_ERROR, PD_ERROR_NOT_FOUND, "not implemented"); return FALSE; }
GPtrArray *pd_table_list(PdTable *t) { return g_ptr_array_new_with_free_func(g_free); }
