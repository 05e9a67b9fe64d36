/*
 * ws.c: websocket client connections with libwebsockets on the driver's
 * libuv loop (lws "foreign loop"), so HTTP calls, terminals and timers all
 * run in one thread on one loop.
 *
 * A connection is freed once both sides let go of it: lws (after
 * CONNECTION_ERROR or CLIENT_CLOSED) and the caller (after its end callback
 * ran, or after ws_close).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <libwebsockets.h>

#include "ws.h"

struct ws_conn
{
	struct lws *wsi;
	ws_data_fn	on_data;
	ws_end_fn	on_end;
	void	   *arg;
	char	   *path;
	char	   *token;
	bool		bypass_ratelimit;
	uv_timer_t	start;
	bool		started;		/* connect attempted */
	bool		lws_done;		/* lws will not call back any more */
	bool		user_done;		/* the caller let go */
	bool		opened;			/* the handshake succeeded */
	char	   *msg;			/* a fragmented message read so far */
	size_t		msg_len;
	int			close_code;		/* from the server's close frame, 0 if none */
	char		close_reason[124];
};

static struct lws_context *ctx;
static struct lws_vhost *vhost;
static uv_loop_t *ws_loop;
static char ws_host[256];
static char ws_hostport[300];
static char ws_prefix[256];
static int	ws_port;
static bool ws_tls;
static bool ws_insecure;

static void
free_conn(ws_conn *c)
{
	if (c->token)
	{
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	free(c->path);
	free(c->msg);
	free(c);
}

static void
free_after_close(uv_handle_t *h)
{
	free_conn(h->data);
}

/* Both sides let go: free it (the start timer must close first). */
static void
maybe_free(ws_conn *c)
{
	if (c->lws_done && c->user_done)
		uv_close((uv_handle_t *) &c->start, free_after_close);
}

static void
ended(ws_conn *c, struct lws *wsi, const char *err)
{
	if (c->lws_done)
		return;
	if (wsi)
		lws_set_opaque_user_data(wsi, NULL);
	c->wsi = NULL;
	c->lws_done = true;
	if (!c->user_done)
	{
		c->user_done = true;
		c->on_end(c->arg, err, c->opened);
	}
	maybe_free(c);
}

/* The handshake's own headers: the session cookie, the bypass header. */
static int
add_headers(struct lws *wsi, ws_conn *c, void *in, size_t len)
{
	unsigned char **p = (unsigned char **) in;
	unsigned char *end = (*p) + len;
	static const char bypass[] = "true";
	char	   *cookie;
	int			rc = 0;

	if (c->bypass_ratelimit &&
		lws_add_http_header_by_name(wsi, (const unsigned char *) "x-coder-bypass-ratelimit:",
									(const unsigned char *) bypass, (int) strlen(bypass), p, end))
		return -1;
	if (!c->token)
		return 0;
	if (asprintf(&cookie, "coder_session_token=%s", c->token) < 0)
		return -1;
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_COOKIE, (const unsigned char *) cookie,
									 (int) strlen(cookie), p, end))
		rc = -1;
	memset(cookie, 0, strlen(cookie));
	free(cookie);
	return rc;
}

/*
 * A fragment of a message: a whole one (the usual case) goes to the caller
 * as it is; fragments are put together first, up to WS_MAX_MESSAGE.
 */
static void
received(ws_conn *c, struct lws *wsi, const char *in, size_t len)
{
	bool		end = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	char	   *m;

	if (end && c->msg_len == 0)
	{
		char	   *copy = malloc(len + 1);	/* NUL-terminated for the caller */

		if (!copy)
			return;
		memcpy(copy, in, len);
		copy[len] = '\0';
		c->on_data(c->arg, copy, len);
		free(copy);
		return;
	}
	if (c->msg_len + len > WS_MAX_MESSAGE && c->msg_len > 0)
	{
		c->on_data(c->arg, c->msg, c->msg_len);
		c->msg_len = 0;
	}
	if (!(m = realloc(c->msg, c->msg_len + len + 1)))
		return;
	memcpy(m + c->msg_len, in, len);
	c->msg = m;
	c->msg_len += len;
	m[c->msg_len] = '\0';
	if (end || c->msg_len >= WS_MAX_MESSAGE)
	{
		c->on_data(c->arg, c->msg, c->msg_len);
		c->msg_len = 0;
	}
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	ws_conn    *c = lws_get_opaque_user_data(wsi);
	char		err[200];

	(void) user;
	if (!c)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason)
	{
		case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
			return add_headers(wsi, c, in, len);
		case LWS_CALLBACK_CLIENT_ESTABLISHED:
			c->opened = true;
			return c->user_done ? -1 : 0;	/* closed by the caller while it connected */
		case LWS_CALLBACK_CLIENT_RECEIVE:
			if (c->user_done)
				return -1;
			received(c, wsi, in, len);
			return 0;
		case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
			snprintf(err, sizeof(err), "websocket: %s", in ? (const char *) in : "connection failed");
			ended(c, wsi, err);
			return 0;
		case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
			if (len >= 2)
			{
				const unsigned char *b = in;

				c->close_code = (b[0] << 8) | b[1];
				snprintf(c->close_reason, sizeof(c->close_reason), "%.*s",
						 (int) (len - 2 > 120 ? 120 : len - 2), (const char *) in + 2);
			}
			return 0;
		case LWS_CALLBACK_CLIENT_CLOSED:
			if (c->close_code && c->close_code != 1000 && c->close_code != 1005)
			{
				snprintf(err, sizeof(err), "websocket closed with status %d%s%s", c->close_code,
						 c->close_reason[0] ? ": " : "", c->close_reason);
				ended(c, wsi, err);
			}
			else
				ended(c, wsi, NULL);
			return 0;
		default:
			break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{"coder-scale-pty", callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

static bool
parse_base(const char *base_url)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL,
			   *host = NULL,
			   *port = NULL,
			   *path = NULL;
	bool		ok = false;

	if (u && curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
	{
		size_t		n;

		ws_tls = strcmp(scheme, "https") == 0;
		ws_port = atoi(port);
		snprintf(ws_host, sizeof(ws_host), "%s", host);
		if ((ws_tls && ws_port == 443) || (!ws_tls && ws_port == 80))
			snprintf(ws_hostport, sizeof(ws_hostport), "%s", host);
		else
			snprintf(ws_hostport, sizeof(ws_hostport), "%s:%d", host, ws_port);
		snprintf(ws_prefix, sizeof(ws_prefix), "%s", path);
		n = strlen(ws_prefix);
		while (n > 0 && ws_prefix[n - 1] == '/')
			ws_prefix[--n] = '\0';
		ok = true;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return ok;
}

bool
ws_init(uv_loop_t *loop, const char *base_url, bool insecure)
{
	struct lws_context_creation_info info;
	void	   *loops[1] = {loop};

	if (!parse_base(base_url))
		return false;
	ws_loop = loop;
	ws_insecure = insecure;
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	ctx = lws_create_context(&info);
	if (!ctx)
		return false;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.vhost_name = "coder-scale";
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	vhost = lws_create_vhost(ctx, &info);
	return vhost != NULL;
}

static void
start_connect(uv_timer_t *t)
{
	ws_conn    *c = t->data;
	struct lws_client_connect_info i;
	char	   *path;

	c->started = true;
	if (asprintf(&path, "%s%s", ws_prefix, c->path) < 0)
		path = NULL;
	memset(&i, 0, sizeof(i));
	i.context = ctx;
	i.vhost = vhost;
	i.address = ws_host;
	i.port = ws_port;
	i.path = path ? path : c->path;
	i.host = ws_hostport;
	i.origin = ws_hostport;
	i.protocol = NULL;
	i.local_protocol_name = protocols[0].name;
	i.opaque_user_data = c;
	i.pwsi = &c->wsi;
	if (ws_tls)
		i.ssl_connection = LCCSCF_USE_SSL |
			(ws_insecure ? LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
			 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE : 0);
	if (!lws_client_connect_via_info(&i))
		ended(c, NULL, "websocket: cannot connect");
	free(path);
}

ws_conn *
ws_open(const char *path, const http_auth *who, ws_data_fn on_data, ws_end_fn on_end, void *arg)
{
	ws_conn    *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->path = strdup(path);
	c->token = who->token ? strdup(who->token) : NULL;
	c->bypass_ratelimit = who->bypass_ratelimit;
	c->on_data = on_data;
	c->on_end = on_end;
	c->arg = arg;
	uv_timer_init(ws_loop, &c->start);
	c->start.data = c;
	uv_timer_start(&c->start, start_connect, 0, 0);
	return c;
}

void
ws_close(ws_conn *c)
{
	if (!c || c->user_done)
		return;
	c->user_done = true;
	if (!c->started)
	{
		uv_timer_stop(&c->start);
		c->lws_done = true;
	}
	else if (c->wsi && c->opened)
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	/*
	 * Still connecting: lws's wsi may not be fully set up (a timeout set on
	 * it then crashed in lws_dll2_remove with 10,000 connecting); lws ends
	 * it itself, and the established callback closes it at once.
	 */
	maybe_free(c);
}
