/*
 * http.h: non-blocking HTTP calls to the Coder API on one libuv loop
 * (libcurl multi_socket interface).
 *
 * Every call says whose client it goes through (http_auth): the session
 * token goes in the Coder-Session-Token header, and X-Coder-Bypass-Ratelimit:
 * true only where Coder's own tool sends it.  Idempotent calls (GET) are
 * retried with backoff on 429, 502, 503, 504 and on connection failures;
 * others are not.
 */
#ifndef CODER_SCALE_HTTP_H
#define CODER_SCALE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <uv.h>
#include <json-c/json.h>

typedef struct http_client http_client;
typedef struct http_call http_call;

/* What a finished call gives its callback; valid only during the callback. */
typedef struct http_result
{
	long		status;			/* HTTP status, 0 when no answer came */
	const char *body;			/* NUL-terminated response body ("" if none) */
	size_t		len;
	const char *transport_error;	/* non-NULL when no answer came */
	const char *method;
	const char *url;			/* full URL (never holds the token) */
} http_result;

typedef void (*http_done_fn) (void *arg, const http_result *res);

/*
 * Whose client a call goes through.  Coder's scale test gives each runner a
 * copy of the owner's client that adds X-Coder-Bypass-Ratelimit: true
 * (coder/coder cli/exp_scaletest.go: BypassHeader,
 * loadtestutil.DupClientCopyingHeaders), and logs each new member in with a
 * fresh client that has no such header (scaletest/createworkspaces/run.go:
 * codersdk.New).  coderd refuses the header from a non-owner (428,
 * coderd/httpmw/ratelimit.go).  TOKEN may be NULL (the login).
 */
typedef struct http_auth
{
	const char *token;
	bool		bypass_ratelimit;
} http_auth;

/*
 * A client for one base URL ("https://coder.example.com"); NULL on error.
 * At most MAX_CONNECTIONS calls are on the wire at once (below 1: the
 * default), each on its own connection; a call beyond them waits for one,
 * oldest first, and the waits are counted (http_waits).  Over HTTP/1.1 that
 * bounds the descriptors the driver holds, as HTTP/2's streams do for Coder's
 * own tool on a TLS deployment (Go multiplexes its calls on a few
 * connections there).
 */
#define HTTP_DEFAULT_CONNECTIONS 1024
http_client *http_client_new(uv_loop_t *loop, const char *base_url, bool insecure,
							 int max_connections);

/* Descriptors a client of MAX_CONNECTIONS holds at most. */
int			http_descriptors(int max_connections);

/* Calls that waited for a connection, and how long. */
typedef struct http_wait_stats
{
	long		waited;
	int64_t		longest_ms;
	int64_t		total_ms;
} http_wait_stats;
const http_wait_stats *http_waits(const http_client *c);

/*
 * Transfers of others on the same loop (the scraper): they add their own easy
 * handles to http_multi(); every finished transfer is shown to FN first, and
 * one FN claims (returns true for) is theirs: they remove it themselves.
 */
typedef bool (*http_foreign_fn) (void *arg, CURLMsg *msg);
CURLM	   *http_multi(http_client *c);
void		http_set_foreign(http_client *c, http_foreign_fn fn, void *arg);

/*
 * Start METHOD base_url+PATH as WHO, with an optional JSON body.  DONE runs
 * once, from the loop, unless the call is cancelled first.
 */
http_call  *http_start(http_client *c, const char *method, const char *path,
					   const http_auth *who, const char *json_body,
					   http_done_fn done, void *arg);

/* Stop a call in flight; its callback never runs. */
void		http_cancel(http_call *call);

/*
 * Coder's error text for a failed call: "POST URL: unexpected status code
 * 500: message\n\tError: detail", or "POST URL: <transport error>".
 * Returns a malloc'd string.
 */
char	   *http_error_text(const http_result *res);

/* Parse the body as JSON (NULL if it is not). */
json_object *http_json(const http_result *res);

/* Run the loop until one call finishes: for the checks before a test starts. */
typedef struct http_sync
{
	bool		done;
	long		status;
	char	   *body;
	char	   *error;			/* http_error_text when status is not 2xx */
	bool		unreachable;	/* no answer at all */
	uv_loop_t  *loop;
} http_sync;

void		http_sync_call(http_client *c, const char *method, const char *path,
						   const http_auth *who, const char *json_body, http_sync *out);
void		http_sync_free(http_sync *s);

#endif
