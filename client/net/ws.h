/*
 * ws.h: websocket client connections (libwebsockets) on the driver's libuv
 * loop, for Coder's reconnecting-PTY web terminal.
 */
#ifndef CODER_SCALE_WS_H
#define CODER_SCALE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct ws_conn ws_conn;

/* Bytes from the server. */
typedef void (*ws_data_fn) (void *arg, const char *data, size_t len);

/* The connection ended: ERROR is NULL after a normal close or EOF. */
typedef void (*ws_end_fn) (void *arg, const char *error);

/* Set up websockets for BASE_URL (http or https) on LOOP; false on error. */
bool		ws_init(uv_loop_t *loop, const char *base_url, bool insecure);


/*
 * Open PATH (with its query string) on the base URL, sending TOKEN in the
 * Coder-Session-Token header. The callbacks run from the loop, never from
 * inside this call. NULL when out of memory.
 */
ws_conn    *ws_open(const char *path, const char *token,
					ws_data_fn on_data, ws_end_fn on_end, void *arg);

/* Close a connection: no callback runs for it any more. */
void		ws_close(ws_conn *c);

#endif
