/*
 * http.c: the HTTP side of the driver's one event loop.
 *
 * libcurl's multi_socket interface on libuv: curl tells us which sockets to
 * watch (sock_cb) and when to wake it (timer_cb); uv_poll handles report
 * readiness back with curl_multi_socket_action. No call ever blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "common/json.h"
#include "http.h"

#define MAX_BODY		(64 * 1024 * 1024)
#define MAX_ATTEMPTS	6		/* first try + 5 retries for idempotent calls */

/*
 * Transfers run on lanes of at most LANE_SIZE each: a lane is one curl
 * multi handle with its own connection cache, capped at LANE_SIZE.  libcurl
 * walks a multi's whole cache on every transfer (ConnectionExists, and
 * curl_multi_remove_handle's close_connect_only walk), so one multi with a
 * connection per workspace in flight cost each call O(workspaces); on lanes
 * a call costs O(LANE_SIZE) whatever the count.
 */
#define LANE_SIZE		64

typedef struct lane
{
	CURLM	   *multi;
	uv_timer_t	timer;
	http_client *c;
	int			active;			/* our transfers on it */
} lane;

struct http_client
{
	uv_loop_t  *loop;
	lane	   *lanes;
	int			nlanes;
	int			next_lane;		/* where to look for room first */
	int			max_active;		/* connections at most: nlanes * LANE_SIZE */
	int			active;
	http_call  *wait_head;		/* calls waiting for a connection, oldest first */
	http_call  *wait_tail;
	http_wait_stats waits;
	CURL	  **spare;			/* easy handles of finished calls, to reuse */
	int			nspare;
	char	   *base;
	bool		insecure;
	http_foreign_fn foreign;
	void	   *foreign_arg;
};

typedef struct sock_ctx
{
	uv_poll_t	poll;
	curl_socket_t fd;
	lane	   *l;
} sock_ctx;

struct http_call
{
	http_client *c;
	lane	   *l;				/* the lane it runs on, NULL when not running */
	http_call  *wait_prev;
	http_call  *wait_next;
	bool		waiting;
	int64_t		wait_since;		/* uv_now when it began to wait */
	CURL	   *easy;
	struct curl_slist *hdrs;
	char	   *url;
	char		method[8];
	char	   *req_body;
	char	   *buf;
	size_t		len;
	size_t		cap;
	char		err[CURL_ERROR_SIZE];
	bool		idempotent;
	bool		timer_ready;
	int			attempt;
	uv_timer_t	retry;
	http_done_fn done;
	void	   *arg;
};

static void check_done(lane *l);
static void finish(http_call *call, CURLcode cc);
static bool easy_setup(http_call *call);
static void easy_release(http_call *call);

static void
free_sock(uv_handle_t *h)
{
	free(h->data);
}

static void
poll_cb(uv_poll_t *p, int status, int events)
{
	sock_ctx   *sc = p->data;
	lane	   *l = sc->l;
	int			flags = 0;
	int			running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(l->multi, sc->fd, flags, &running);
	check_done(l);
}

/* curl: watch socket S for WHAT (or stop watching it). */
static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	lane	   *l = userp;
	sock_ctx   *sc = socketp;
	int			ev = 0;

	(void) e;
	if (what == CURL_POLL_REMOVE)
	{
		if (sc)
		{
			uv_poll_stop(&sc->poll);
			curl_multi_assign(l->multi, s, NULL);
			uv_close((uv_handle_t *) &sc->poll, free_sock);
		}
		return 0;
	}
	if (!sc)
	{
		sc = calloc(1, sizeof(*sc));
		if (!sc)
			return -1;
		sc->fd = s;
		sc->l = l;
		if (uv_poll_init_socket(l->c->loop, &sc->poll, s) != 0)
		{
			free(sc);
			return -1;
		}
		sc->poll.data = sc;
		curl_multi_assign(l->multi, s, sc);
	}
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&sc->poll, ev, poll_cb);
	return 0;
}

static void
on_timeout(uv_timer_t *t)
{
	lane	   *l = t->data;
	int			running;

	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(l);
}

/* curl: wake me in TIMEOUT_MS (-1: never). */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	lane	   *l = userp;

	(void) m;
	if (timeout_ms < 0)
		uv_timer_stop(&l->timer);
	else
		uv_timer_start(&l->timer, on_timeout, (uint64_t) timeout_ms, 0);
	return 0;
}

static bool
lane_init(http_client *c, lane *l)
{
	l->c = c;
	if (!(l->multi = curl_multi_init()))
		return false;
	uv_timer_init(c->loop, &l->timer);
	l->timer.data = l;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long) LANE_SIZE);
	return true;
}

http_client *
http_client_new(uv_loop_t *loop, const char *base_url, bool insecure, int max_connections)
{
	static bool global_done;
	http_client *c;
	size_t		n;

	if (!global_done)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = true;
	}
	if (max_connections < 1)
		max_connections = HTTP_DEFAULT_CONNECTIONS;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->insecure = insecure;
	c->base = strdup(base_url);
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->nlanes = (max_connections + LANE_SIZE - 1) / LANE_SIZE;
	c->max_active = max_connections;
	c->lanes = calloc(c->nlanes, sizeof(lane));
	c->spare = calloc(max_connections, sizeof(CURL *));
	if (!c->lanes || !c->spare)
		return NULL;
	for (int i = 0; i < c->nlanes; i++)
		if (!lane_init(c, &c->lanes[i]))
			return NULL;
	return c;
}

int
http_descriptors(int max_connections)
{
	if (max_connections < 1)
		max_connections = HTTP_DEFAULT_CONNECTIONS;
	/* each lane's multi handle holds a socketpair to wake it */
	return max_connections + 2 * ((max_connections + LANE_SIZE - 1) / LANE_SIZE);
}

const http_wait_stats *
http_waits(const http_client *c)
{
	return &c->waits;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	http_call  *call = userdata;
	size_t		n = size * nmemb;

	if (call->len + n + 1 > call->cap)
	{
		size_t		cap = call->cap ? call->cap : 1024;
		char	   *nb;

		while (cap < call->len + n + 1)
			cap *= 2;
		if (cap > MAX_BODY)
			return 0;
		nb = realloc(call->buf, cap);
		if (!nb)
			return 0;
		call->buf = nb;
		call->cap = cap;
	}
	memcpy(call->buf + call->len, ptr, n);
	call->len += n;
	call->buf[call->len] = '\0';
	return n;
}

static void
free_call_mem(http_call *call)
{
	easy_release(call);
	curl_slist_free_all(call->hdrs);
	free(call->url);
	free(call->req_body);
	free(call->buf);
	free(call);
}

static void
free_after_close(uv_handle_t *h)
{
	free_call_mem(h->data);
}

static void
free_call(http_call *call)
{
	if (call->timer_ready)
		uv_close((uv_handle_t *) &call->retry, free_after_close);
	else
		free_call_mem(call);
}

/*
 * Let curl start a new transfer on the next loop turn: its timer callback
 * is not always called again for a handle added right after another one
 * finished, and then nothing would wake it until an older timeout.
 */
static void
kick(lane *l)
{
	uv_timer_start(&l->timer, on_timeout, 0, 0);
}

/* Put CALL on a lane with room now (there is one: active < max_active). */
static bool
run_on_lane(http_call *call)
{
	http_client *c = call->c;
	lane	   *l;

	for (;;)
	{
		l = &c->lanes[c->next_lane];
		if (l->active < LANE_SIZE)
			break;
		c->next_lane = (c->next_lane + 1) % c->nlanes;
	}
	if (!call->easy && !easy_setup(call))
		return false;
	if (curl_multi_add_handle(l->multi, call->easy) != CURLM_OK)
		return false;
	call->l = l;
	l->active++;
	c->active++;
	c->next_lane = (c->next_lane + 1) % c->nlanes;
	kick(l);
	return true;
}

static void
wait_unlink(http_call *call)
{
	http_client *c = call->c;

	if (call->wait_prev)
		call->wait_prev->wait_next = call->wait_next;
	else
		c->wait_head = call->wait_next;
	if (call->wait_next)
		call->wait_next->wait_prev = call->wait_prev;
	else
		c->wait_tail = call->wait_prev;
	call->wait_prev = call->wait_next = NULL;
	call->waiting = false;
}

/* Start CALL now, or queue it until a connection is free. */
static bool
submit(http_call *call)
{
	http_client *c = call->c;

	if (c->active < c->max_active && !c->wait_head)
		return run_on_lane(call);
	call->waiting = true;
	call->wait_since = (int64_t) uv_now(c->loop);
	call->wait_prev = c->wait_tail;
	if (c->wait_tail)
		c->wait_tail->wait_next = call;
	else
		c->wait_head = call;
	c->wait_tail = call;
	c->waits.waited++;
	return true;
}

/* Calls waiting take the connections that came free, oldest first. */
static void
pump(http_client *c)
{
	while (c->wait_head && c->active < c->max_active)
	{
		http_call  *call = c->wait_head;
		int64_t		w = (int64_t) uv_now(c->loop) - call->wait_since;

		wait_unlink(call);
		if (w > c->waits.longest_ms)
			c->waits.longest_ms = w;
		c->waits.total_ms += w;
		if (!run_on_lane(call))
		{
			http_result res = {0};

			res.method = call->method;
			res.url = call->url;
			res.transport_error = "cannot start the HTTP call";
			call->done(call->arg, &res);
			free_call(call);
		}
	}
}

/* CALL's transfer left its lane (done, or cancelled). */
static void
leave_lane(http_call *call)
{
	if (!call->l)
		return;
	curl_multi_remove_handle(call->l->multi, call->easy);
	call->l->active--;
	call->c->active--;
	call->l = NULL;
}

static bool
worth_retry(http_call *call, CURLcode cc, long status)
{
	if (!call->idempotent || call->attempt + 1 >= MAX_ATTEMPTS)
		return false;
	if (cc != CURLE_OK)
		return cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR ||
			cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
			cc == CURLE_PARTIAL_FILE;
	return status == 429 || status == 502 || status == 503 || status == 504;
}

static void
retry_now(uv_timer_t *t)
{
	http_call  *call = t->data;

	call->len = 0;
	if (call->buf)
		call->buf[0] = '\0';
	call->err[0] = '\0';
	if (!submit(call))
		finish(call, CURLE_OUT_OF_MEMORY);
}

static void
schedule_retry(http_call *call)
{
	uint64_t	delay = 100u << call->attempt;

	if (delay > 3000)
		delay = 3000;
	call->attempt++;
	if (!call->timer_ready)
	{
		uv_timer_init(call->c->loop, &call->retry);
		call->retry.data = call;
		call->timer_ready = true;
	}
	uv_timer_start(&call->retry, retry_now, delay, 0);
}

static void
finish(http_call *call, CURLcode cc)
{
	http_result res;
	long		status = 0;

	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK)
		status = 0;
	if (worth_retry(call, cc, status))
	{
		easy_release(call);		/* a new one when it runs again */
		schedule_retry(call);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.status = status;
	res.body = call->buf ? call->buf : "";
	res.len = call->len;
	res.method = call->method;
	res.url = call->url;
	if (cc != CURLE_OK)
		res.transport_error = call->err[0] ? call->err : curl_easy_strerror(cc);
	call->done(call->arg, &res);
	free_call(call);
}

CURLM *
http_multi(http_client *c)
{
	return c->lanes[0].multi;
}

void
http_set_foreign(http_client *c, http_foreign_fn fn, void *arg)
{
	c->foreign = fn;
	c->foreign_arg = arg;
}

static void
check_done(lane *l)
{
	http_client *c = l->c;
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(l->multi, &left)))
	{
		http_call  *call;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (c->foreign && c->foreign(c->foreign_arg, msg))
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &call);
		CURLcode	cc = msg->data.result;

		leave_lane(call);
		finish(call, cc);
	}
	pump(c);
}

static bool
add_header(http_call *call, const char *h)
{
	struct curl_slist *n = curl_slist_append(call->hdrs, h);

	if (!n)
		return false;
	call->hdrs = n;
	return true;
}

static bool
set_headers(http_call *call, const http_auth *who, bool has_body)
{
	char	   *th;
	bool		ok;

	if (!add_header(call, "Accept: application/json") || !add_header(call, "Expect:"))
		return false;
	if (who->bypass_ratelimit && !add_header(call, "X-Coder-Bypass-Ratelimit: true"))
		return false;
	if (has_body && !add_header(call, "Content-Type: application/json"))
		return false;
	if (!who->token)
		return true;
	if (asprintf(&th, "Coder-Session-Token: %s", who->token) < 0)
		return false;
	ok = add_header(call, th);
	memset(th, 0, strlen(th));
	free(th);
	return ok;
}

static void
set_method(http_call *call)
{
	CURL	   *e = call->easy;

	if (call->req_body)
	{
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->req_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(call->req_body));
	}
	if (strcmp(call->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(call->method, "POST") == 0 && call->req_body)
		;
	else if (strcmp(call->method, "POST") == 0)
	{
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	}
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
}

/*
 * An easy handle for CALL as it goes on the wire: a finished call's, reset,
 * when there is one (a call waiting for a connection holds none, and
 * curl_easy_init's few kilobytes per call were the driver's most frequent
 * allocation), set up for it.
 */
static bool
easy_setup(http_call *call)
{
	http_client *c = call->c;
	CURL	   *e;

	if (c->nspare > 0)
	{
		e = c->spare[--c->nspare];
		curl_easy_reset(e);
	}
	else if (!(e = curl_easy_init()))
		return false;
	call->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, call->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, call);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->err);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 2048L);	/* thousands on the wire: keep them small */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
	if (c->insecure)
	{
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	set_method(call);
	return true;
}

/* CALL is off the wire: its easy handle goes back to the spares. */
static void
easy_release(http_call *call)
{
	http_client *c = call->c;

	if (!call->easy)
		return;
	if (c->nspare < c->max_active)
		c->spare[c->nspare++] = call->easy;
	else
		curl_easy_cleanup(call->easy);
	call->easy = NULL;
}

http_call *
http_start(http_client *c, const char *method, const char *path,
		   const http_auth *who, const char *json_body,
		   http_done_fn done, void *arg)
{
	http_call  *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->c = c;
	call->done = done;
	call->arg = arg;
	snprintf(call->method, sizeof(call->method), "%s", method);
	call->idempotent = strcmp(method, "GET") == 0;
	if (asprintf(&call->url, "%s%s", c->base, path) < 0)
		call->url = NULL;
	if (json_body)
		call->req_body = strdup(json_body);
	if (!call->url || (json_body && !call->req_body) || !set_headers(call, who, json_body != NULL) ||
		!submit(call))
	{
		free_call(call);
		return NULL;
	}
	return call;
}

void
http_cancel(http_call *call)
{
	if (!call)
		return;
	if (call->timer_ready)
		uv_timer_stop(&call->retry);
	if (call->waiting)
		wait_unlink(call);
	leave_lane(call);
	pump(call->c);
	free_call(call);
}

json_object *
http_json(const http_result *res)
{
	if (!res->body || !res->body[0])
		return NULL;
	return json_tokener_parse(res->body);
}

char *
http_error_text(const http_result *res)
{
	char	   *out = NULL;
	json_object *j;
	const char *msg;
	const char *detail;

	if (res->transport_error)
	{
		if (asprintf(&out, "%s %s: %s", res->method, res->url, res->transport_error) < 0)
			return strdup("transport error");
		return out;
	}
	j = http_json(res);
	msg = jstr(j, "message");
	detail = jstr(j, "detail");
	if (asprintf(&out, "%s %s: unexpected status code %ld: %s%s%s", res->method, res->url,
				 res->status, msg ? msg : "", detail && detail[0] ? "\n\tError: " : "",
				 detail && detail[0] ? detail : "") < 0)
		out = strdup("unexpected status code");
	json_object_put(j);
	return out;
}

static void
sync_done(void *arg, const http_result *res)
{
	http_sync  *s = arg;

	s->done = true;
	uv_stop(s->loop);			/* uv_run returns without waiting for I/O */
	s->status = res->status;
	s->body = strdup(res->body);
	s->unreachable = res->transport_error != NULL;
	if (res->status < 200 || res->status > 299)
		s->error = http_error_text(res);
}

void
http_sync_call(http_client *c, const char *method, const char *path,
			   const http_auth *who, const char *json_body, http_sync *out)
{
	memset(out, 0, sizeof(*out));
	out->loop = c->loop;
	if (!http_start(c, method, path, who, json_body, sync_done, out))
	{
		out->unreachable = true;
		out->error = strdup("cannot start the HTTP call");
		return;
	}
	while (!out->done)
		uv_run(c->loop, UV_RUN_ONCE);
}

void
http_sync_free(http_sync *s)
{
	free(s->body);
	free(s->error);
	memset(s, 0, sizeof(*s));
}
