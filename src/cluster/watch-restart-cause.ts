/**
 * Why a watch was started again from its resourceVersion: `idle`, client-node's Watch ended one that delivered nothing
 * for 30 s (every 30 s on a quiet cluster, whose bookmarks come about every 60 s: a reconnect, not a fault);
 * `ended`, the API server closed it (its watch timeout); `failed`, an error. A 410 Gone is a relist, not a restart.
 * Its own module: the metrics import it, and must not load client-node with it (a server of a Service file never does).
 */
export const WATCH_RESTART_CAUSES = ['idle', 'ended', 'failed'] as const;
export type WatchRestartCause = (typeof WATCH_RESTART_CAUSES)[number];
