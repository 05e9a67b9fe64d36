/*
 * ws.h: websocket client connections (libwebsockets) on the driver's libuv
 * loop, for Coder's reconnecting-PTY web terminal and build logs.
 */
#ifndef CODER_SCALE_WS_H
#define CODER_SCALE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "net/http.h"

typedef struct ws_conn ws_conn;

/*
 * One message from the server (its fragments put together), NUL-terminated
 * after LEN.  A message longer than WS_MAX_MESSAGE comes in pieces of at most
 * that size.
 */
#define WS_MAX_MESSAGE	(64 * 1024)
typedef void (*ws_data_fn) (void *arg, const char *data, size_t len);

/*
 * The connection ended: ERROR is NULL after a normal close or EOF; OPENED
 * says whether the handshake had succeeded.
 */
typedef void (*ws_end_fn) (void *arg, const char *error, bool opened);

/* Set up websockets for BASE_URL (http or https) on LOOP; false on error. */
bool		ws_init(uv_loop_t *loop, const char *base_url, bool insecure);


/*
 * Open PATH (with its query string) on the base URL as WHO: the token in the
 * coder_session_token cookie, as codersdk's websocket dials send it (a
 * cookie jar on the dial's client: codersdk provisionerJobLogsAfter,
 * workspacesdk AgentReconnectingPTY), and X-Coder-Bypass-Ratelimit when WHO
 * is the owner's runner client.  The callbacks run from the loop, never
 * from inside this call.  NULL when out of memory.
 */
ws_conn    *ws_open(const char *path, const http_auth *who,
					ws_data_fn on_data, ws_end_fn on_end, void *arg);

/*
 * At most N websockets open at once (0, the default: no limit); one opened
 * beyond them waits, oldest first, until one ends, and the waits are counted.
 */
void		ws_set_max(int n);
const http_wait_stats *ws_waits(void);
/* Descriptors N websockets open at once hold at most. */
int			ws_descriptors(int n);

/* Close a connection: no callback runs for it any more. */
void		ws_close(ws_conn *c);

#endif
