/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ports.c: the port table (port-driver/) as the bypass (plugin/) sees it.
 *
 * Theory of operation.  Neither directory reaches into the other: the
 * bypass asks through a PbPortOps (find the entries of a guest port, share
 * a host port, switch an entry between libslirp and a bypass socket), and
 * hears about removals through the table's watcher, both wired here.  The
 * table stops polling a stopped libslirp listener through the main loop
 * (sb_slirp_mute_fd()).
 */
#include "ports.h"

#include <netinet/in.h>

struct SbPorts {
    PdTable *table;
    SbSlirp *slirp;
    PbAgent *agent;
    PbPortOps ops;
};

/* implements PbPortOps.find */
static GPtrArray *
ports_find(gpointer data, int proto, guint16 guest_port)
{
    SbPorts *p = data;
    g_autoptr(GPtrArray) found = pd_table_find_guest(
        p->table, proto == IPPROTO_UDP ? PD_PROTO_UDP : PD_PROTO_TCP,
        guest_port);
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < found->len; i++) {
        const PdForward *f = g_ptr_array_index(found, i);
        PbPort *port = g_new0(PbPort, 1);

        port->id = f->id;
        port->proto = proto;
        port->host = f->host;
        port->guest = f->guest;
        g_ptr_array_add(out, port);
    }
    return out;
}

/* implements PbPortOps.share */
static gboolean
ports_share(gpointer data, guint id)
{
    SbPorts *p = data;
    g_autoptr(GError) error = NULL;

    if (pd_table_share(p->table, id, &error))
        return TRUE;
    g_debug("%s", error->message);
    return FALSE;
}

/* implements PbPortOps.set_bypassed */
static gboolean
ports_set_bypassed(gpointer data, guint id, gboolean bypassed)
{
    SbPorts *p = data;
    g_autoptr(GError) error = NULL;

    if (pd_table_set_path(p->table, id,
                          bypassed ? PD_PATH_BYPASS : PD_PATH_SLIRP, &error))
        return TRUE;
    g_debug("%s", error->message);
    return FALSE;
}

/* implements PdTableFlushFunc */
static void
ports_flush(gpointer data)
{
    SbPorts *p = data;

    if (p->agent != NULL)
        pb_agent_port_flush(p->agent);
}

/* implements PdTableMuteFunc */
static void
ports_mute(int fd, gboolean mute, gpointer data)
{
    SbPorts *p = data;

    sb_slirp_mute_fd(p->slirp, fd, mute);
}

/* implements PdTableWatchFunc: a removed entry's bypass sockets stop */
static void
ports_watch(PdTable *t, PdTableEvent event, const PdForward *fwd, gpointer data)
{
    SbPorts *p = data;

    if (event == PD_TABLE_REMOVED && p->agent != NULL)
        pb_agent_port_removed(p->agent, fwd->id, pd_table_take_held(t));
}

/**
 * sb_ports_new:
 * @table: the port table (not owned; outlives the result)
 * @slirp: the libslirp loop (not owned; outlives the result)
 *
 * Returns: (transfer full): the wiring; the table's watcher and mute
 * callbacks point at it until sb_ports_free().
 */
SbPorts *
sb_ports_new(PdTable *table, SbSlirp *slirp)
{
    SbPorts *p = g_new0(SbPorts, 1);

    p->table = table;
    p->slirp = slirp;
    p->ops.find = ports_find;
    p->ops.share = ports_share;
    p->ops.set_bypassed = ports_set_bypassed;
    p->ops.data = p;
    pd_table_set_mute(table, ports_mute, p);
    pd_table_set_watch(table, ports_watch, p);
    pd_table_set_flush(table, ports_flush, p);
    return p;
}

/**
 * sb_ports_ops: the PbPortOps for PbAgentConfig.ports.
 */
const PbPortOps *
sb_ports_ops(SbPorts *p)
{
    return &p->ops;
}

/**
 * sb_ports_set_agent: the agent told about removed entries (NULL: none).
 */
void
sb_ports_set_agent(SbPorts *p, PbAgent *agent)
{
    p->agent = agent;
}

/**
 * sb_ports_free: unhook from the table.  NULL is allowed.
 */
void
sb_ports_free(SbPorts *p)
{
    if (p == NULL)
        return;
    pd_table_set_watch(p->table, NULL, NULL);
    pd_table_set_mute(p->table, NULL, NULL);
    pd_table_set_flush(p->table, NULL, NULL);
    g_free(p);
}
