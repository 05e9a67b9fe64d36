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

/*
 * Connections are spread over lanes of at most WS_LANE_SIZE: a lane is one
 * lws context with its own vhost.  lws keeps a context's timers (every
 * connection's timeout) in one sorted list, inserting in O(its length):
 * with 10,000 connections on one context that insertion was 15% of the
 * driver's CPU.  Lanes are made as they are needed, all on the one loop.
 */
#define WS_LANE_SIZE	256

typedef struct ws_lane
{
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	int			open;			/* connections on it not yet ended */
} ws_lane;

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
	ws_lane    *lane;			/* where it connects, NULL before */
	bool		has_slot;		/* counts against ws_max */
	bool		waiting;		/* queued for a slot */
	int64_t		wait_since;
	ws_conn    *wait_next;
	ws_conn    *wait_prev;
};

static ws_lane **lanes;
static int	nlanes;
static int	next_lane;
static uv_loop_t *ws_loop;
static char ws_host[256];
static char ws_hostport[300];
static char ws_prefix[256];
static int	ws_port;
static bool ws_tls;
static bool ws_insecure;

/* Connections at once (0: no limit), those beyond it waiting oldest first. */
static int	ws_max;
static int	ws_slots;
static ws_conn *wait_head;
static ws_conn *wait_tail;
static http_wait_stats ws_wait_stats;

static void take_slot(ws_conn *c);

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
wait_unlink(ws_conn *c)
{
	if (c->wait_prev)
		c->wait_prev->wait_next = c->wait_next;
	else
		wait_head = c->wait_next;
	if (c->wait_next)
		c->wait_next->wait_prev = c->wait_prev;
	else
		wait_tail = c->wait_prev;
	c->wait_prev = c->wait_next = NULL;
	c->waiting = false;
}

/* C's socket is gone: its slot goes to the oldest connection waiting. */
static void
release_slot(ws_conn *c)
{
	if (!c->has_slot)
		return;
	c->has_slot = false;
	ws_slots--;
	while (wait_head && (ws_max == 0 || ws_slots < ws_max))
	{
		ws_conn    *w = wait_head;
		int64_t		ms = (int64_t) uv_now(ws_loop) - w->wait_since;

		wait_unlink(w);
		if (ms > ws_wait_stats.longest_ms)
			ws_wait_stats.longest_ms = ms;
		ws_wait_stats.total_ms += ms;
		take_slot(w);
	}
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
	if (c->lane)
		c->lane->open--;
	c->lane = NULL;
	release_slot(c);
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

/* A new lane: a context on the loop and its vhost; NULL on error. */
static ws_lane *
lane_new(void)
{
	struct lws_context_creation_info info;
	void	   *loops[1] = {ws_loop};
	ws_lane    *l = calloc(1, sizeof(*l));
	ws_lane   **more = realloc(lanes, (nlanes + 1) * sizeof(*lanes));

	if (!l || !more)
	{
		free(l);
		return NULL;
	}
	lanes = more;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	l->ctx = lws_create_context(&info);
	if (!l->ctx)
	{
		free(l);
		return NULL;
	}
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.vhost_name = "coder-scale";
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	l->vhost = lws_create_vhost(l->ctx, &info);
	if (!l->vhost)
	{
		lws_context_destroy(l->ctx);
		free(l);
		return NULL;
	}
	lanes[nlanes++] = l;
	return l;
}

/* A lane with room, made if every one is full; NULL on error. */
static ws_lane *
lane_pick(void)
{
	for (int k = 0; k < nlanes; k++)
	{
		ws_lane    *l = lanes[(next_lane + k) % nlanes];

		if (l->open < WS_LANE_SIZE)
		{
			next_lane = (next_lane + k + 1) % nlanes;
			return l;
		}
	}
	return lane_new();
}

bool
ws_init(uv_loop_t *loop, const char *base_url, bool insecure)
{
	if (!parse_base(base_url))
		return false;
	ws_loop = loop;
	ws_insecure = insecure;
	lws_set_log_level(0, NULL);
	return nlanes > 0 || lane_new() != NULL;
}

static void
start_connect(uv_timer_t *t)
{
	ws_conn    *c = t->data;
	struct lws_client_connect_info i;
	char	   *path;

	c->started = true;
	if (!(c->lane = lane_pick()))
	{
		ended(c, NULL, "websocket: cannot set up a connection");
		return;
	}
	c->lane->open++;
	if (asprintf(&path, "%s%s", ws_prefix, c->path) < 0)
		path = NULL;
	memset(&i, 0, sizeof(i));
	i.context = c->lane->ctx;
	i.vhost = c->lane->vhost;
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
	if ((ws_max == 0 || ws_slots < ws_max) && !wait_head)
	{
		take_slot(c);
		return c;
	}
	c->waiting = true;
	c->wait_since = (int64_t) uv_now(ws_loop);
	c->wait_prev = wait_tail;
	if (wait_tail)
		wait_tail->wait_next = c;
	else
		wait_head = c;
	wait_tail = c;
	ws_wait_stats.waited++;
	return c;
}

/* C may open its socket: connect on the next loop turn. */
static void
take_slot(ws_conn *c)
{
	c->has_slot = true;
	ws_slots++;
	uv_timer_start(&c->start, start_connect, 0, 0);
}

void
ws_set_max(int n)
{
	ws_max = n > 0 ? n : 0;
}

int
ws_descriptors(int n)
{
	/* each lane's lws context holds a pipe to wake it */
	return n + 2 * ((n + WS_LANE_SIZE - 1) / WS_LANE_SIZE);
}

const http_wait_stats *
ws_waits(void)
{
	return &ws_wait_stats;
}

void
ws_close(ws_conn *c)
{
	if (!c || c->user_done)
		return;
	c->user_done = true;
	if (c->waiting)
	{
		wait_unlink(c);
		c->lws_done = true;
	}
	else if (!c->started)
	{
		uv_timer_stop(&c->start);
		c->lws_done = true;
		release_slot(c);
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
