/*
 * server.h: what the HTTP, websocket, PTY and metrics parts of the stand-in
 * share.  One libwebsockets context, one thread, one event loop: nothing
 * here is locked.
 *
 * A struct conn is lws's per-session data of one connection.  http_begin
 * resets it for each HTTP request and ws_established when a websocket opens;
 * it owns its body buffer and its queue of outgoing messages.  A terminal
 * websocket and its struct pty point at each other (c->pty, p->ws); whichever
 * side closes first clears the other's pointer.  A ?follow websocket is on
 * its build's list of followers until the job ends or the websocket closes.
 */
#ifndef STANDIN_SERVER_H
#define STANDIN_SERVER_H

#include "state.h"

#include <json-c/json.h>
#include <libwebsockets.h>
#include <sys/types.h>

enum method
{
	M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OTHER
};

enum conn_kind
{
	C_HTTP, C_WS_PTY, C_WS_LOGS
};

/* A websocket message waiting to be sent, owned by its conn's queue. */
struct outbuf
{
	struct outbuf *next;
	size_t		len;
	bool		binary;
	unsigned char data[];		/* LWS_PRE bytes of headroom, then len bytes */
};

struct pty;

/* ratelimit.c: the two limiters, and what one said of a request */
enum rl_which
{
	RL_API, RL_LOGIN
};

enum rl_outcome
{
	RL_PASS, RL_LIMITED, RL_NOT_OWNER
};

struct rl_result
{
	enum rl_outcome outcome;
	int			limit;			/* 0: the limiter is off (no X-RateLimit-* headers) */
	long		remaining;
	int64_t		reset;			/* Unix seconds: the end of the current minute */
};

/* Per-connection state (libwebsockets' per-session data; see above). */
struct conn
{
	enum conn_kind kind;
	struct lws *wsi;
	/* HTTP request */
	enum method method;
	int			route;			/* index in http.c's routes[], or past its end */
	char		path[512];
	char	   *body;
	size_t		blen;
	size_t		bcap;
	bool		body_wait;
	int64_t		t0;				/* mono_us at request start */
	bool		in_flight;
	/* HTTP response */
	bool		responded;
	bool		write_failed;
	int			status;
	char		cookie[96];
	struct rl_result rl;		/* the X-RateLimit-* headers to answer with */
	/* websockets */
	struct outbuf *oq_head,
			   *oq_tail;
	size_t		oq_bytes;
	bool		closing;		/* close once the queue is drained */
	int			close_code;
	char		close_reason[120];
	int64_t		ws_t0;
	int			ws_route;
	struct build *follow;
	int64_t		last_log;
	struct conn *fnext,
			   *fprev;
	struct pty *pty;
};

/* http.c */
extern const char *listen_url;
int			http_callback(struct lws *wsi, enum lws_callback_reasons reason,
						  void *user, void *in, size_t len);
void		http_build_changed(struct build *b);
const char *route_label(int route);
const char *method_name(enum method m);

/* ws helpers (http.c) */
void		ws_send(struct conn *c, const void *data, size_t len, bool binary);
void		ws_close_after(struct conn *c, int code, const char *reason);

/* ratelimit.c */
bool		go_parse_bool_true(const char *s);
void		ratelimit_check(enum rl_which which, const struct user *u, bool bypass,
							const char *ip, const char *path, struct rl_result *out);

/* pty.c */
int			pty_open(struct conn *c, const char *command, int width, int height);
void		pty_input(struct conn *c, const char *in, size_t len);
void		pty_ws_closed(struct conn *c);
int			pty_fd_callback(struct lws *wsi, enum lws_callback_reasons reason);
void		pty_ws_drained(struct conn *c);
extern struct lws_vhost *main_vhost;
extern struct lws_vhost *metrics_vhost;

/* main.c */
void		timers_kick(void);

/* metrics.c */
void		metrics_request(int route, enum method m, int status, double seconds);
void		metrics_inflight(int delta);
void		metrics_websocket(int delta);
void		metrics_websocket_closed(int route, double seconds);
void		metrics_job_wait(struct build *b, double seconds);
void		metrics_job_done(struct build *b);
char	   *metrics_render(size_t *len);

/* render.c: codersdk JSON shapes */
json_object *j_user(const struct user *u);
json_object *j_org(void);
json_object *j_template(const struct template *t);
json_object *j_template_version(const struct template *t);
json_object *j_param(const struct param *p);
json_object *j_build(const struct build *b);
json_object *j_job(const struct build *b);
json_object *j_resources(const struct build *b);
json_object *j_matched_provisioners(void);
json_object *j_workspace(const struct workspace *w);
json_object *j_deployment_config(void);
void		log_text(strbuf *sb, const struct logline *l);
json_object *j_buildinfo(void);
json_object *j_agent(const struct agent *a);

#endif
