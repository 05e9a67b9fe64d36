/*
 * pty.c: the web terminal.  Each PTY websocket runs its command in a real
 * shell on a pseudo-terminal (forkpty); the master side is adopted into the
 * libwebsockets loop as a raw file, so reading it never blocks.  Output goes
 * out as binary websocket messages; client messages {"data","height","width"}
 * are written to the terminal and resize it.  When the command exits the
 * websocket closes normally.
 */
#define _GNU_SOURCE				/* posix_spawn_file_actions_addclosefrom_np, POSIX_SPAWN_SETSID */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PAUSE_BYTES (256 * 1024)

struct pty
{
	int			fd;
	pid_t		pid;
	struct lws *fdwsi;
	struct conn *ws;
	bool		paused;
};

/*
 * Start "sh -c COMMAND" on a new pseudo-terminal.  posix_spawn (a vfork in
 * glibc) instead of forkpty: no copy of the server's page tables, and
 * closefrom(3) in the child, so the shell holds none of the server's sockets.
 * The child is a session leader and opens the terminal by name, which makes
 * it its controlling terminal.
 */
static pid_t
spawn_shell(const char *slave_name, const char *command)
{
	static char *const shell_only[] = {"/bin/sh", NULL};
	char	   *argv[] = {"/bin/sh", "-c", (char *) command, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t	def,
				none;
	pid_t		pid = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, slave_name, O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_adddup2(&fa, 0, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&def);
	sigaddset(&def, SIGCHLD);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	if (posix_spawn(&pid, "/bin/sh", &fa, &attr,
					command && *command ? argv : shell_only, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return pid;
}

/*
 * Give websocket C a terminal running COMMAND (a shell when empty) at WIDTH x HEIGHT.
 * Returns 0, or -1 when no terminal or process could be had (C has no pty then).
 */
int
pty_open(struct conn *c, const char *command, int width, int height)
{
	struct winsize ws = {.ws_row = (unsigned short) height, .ws_col = (unsigned short) width};
	struct pty *p;
	pid_t		pid;
	int			fd,
				slave;
	char		name[64];
	lws_adopt_desc_t ad;

	if (openpty(&fd, &slave, name, NULL, &ws) != 0)
		return -1;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	pid = spawn_shell(name, command);
	/* the child opened its own copy; ours only had to exist until then */
	close(slave);
	if (pid < 0)
	{
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	p->pid = pid;
	p->ws = c;
	c->pty = p;
	memset(&ad, 0, sizeof(ad));
	ad.vh = main_vhost;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = fd;
	ad.opaque = p;
	p->fdwsi = lws_adopt_descriptor_vhost_via_info(&ad);
	if (!p->fdwsi)
	{
		/* lws closed the descriptor */
		kill(pid, SIGKILL);
		c->pty = NULL;
		free(p);
		return -1;
	}
	return 0;
}

/* A client message: {"data": "...", "height": H, "width": W}. */
void
pty_input(struct conn *c, const char *in, size_t len)
{
	struct pty *p = c->pty;
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, in, (int) len),
			   *v;

	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object))
	{
		if (o)
			json_object_put(o);
		ws_close_after(c, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "decode request: not a JSON object");
		return;
	}
	if (p && p->fd >= 0)
	{
		int			h = 0,
					w = 0;

		if (json_object_object_get_ex(o, "height", &v))
			h = json_object_get_int(v);
		if (json_object_object_get_ex(o, "width", &v))
			w = json_object_get_int(v);
		if (h > 0 && w > 0)
		{
			struct winsize ws = {.ws_row = (unsigned short) h, .ws_col = (unsigned short) w};

			ioctl(p->fd, TIOCSWINSZ, &ws);
		}
		if (json_object_object_get_ex(o, "data", &v) && json_object_is_type(v, json_type_string))
		{
			const char *d = json_object_get_string(v);
			size_t		n = (size_t) json_object_get_string_len(v);

			while (n > 0)
			{
				ssize_t		k = write(p->fd, d, n);

				if (k <= 0)
					break;		/* a full terminal drops input, as a slow one would */
				d += k;
				n -= (size_t) k;
			}
		}
	}
	json_object_put(o);
}

/* Have lws close the terminal's descriptor; its close callback frees P. */
static void
pty_detach_fd(struct pty *p)
{
	if (p->fdwsi)
	{
		struct lws *w = p->fdwsi;

		p->fdwsi = NULL;
		lws_set_timeout(w, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
	}
}

/* C's websocket closed: hang up the terminal's processes and let the descriptor go. */
void
pty_ws_closed(struct conn *c)
{
	struct pty *p = c->pty;

	c->pty = NULL;
	if (!p)
		return;
	p->ws = NULL;
	if (p->pid > 0)
		kill(-p->pid, SIGHUP);
	if (p->fdwsi)
		pty_detach_fd(p);
	else
		free(p);
}

/* C's queue went down: read the terminal again once it is under half the pause mark. */
void
pty_ws_drained(struct conn *c)
{
	struct pty *p = c->pty;

	if (p && p->paused && c->oq_bytes < PAUSE_BYTES / 2 && p->fdwsi)
	{
		p->paused = false;
		lws_rx_flow_control(p->fdwsi, 1);
	}
}

/* The master side of a terminal; its state hangs off the wsi's opaque pointer. */
int
pty_fd_callback(struct lws *wsi, enum lws_callback_reasons reason)
{
	struct pty *p;
	char		buf[16384];
	ssize_t		n;

	switch (reason)
	{
		case LWS_CALLBACK_RAW_ADOPT_FILE:
			return 0;
		case LWS_CALLBACK_RAW_RX_FILE:
			p = lws_get_opaque_user_data(wsi);
			if (!p || !p->ws)
				return -1;
			n = read(p->fd, buf, sizeof(buf));
			if (n > 0)
			{
				ws_send(p->ws, buf, (size_t) n, true);
				if (p->ws->oq_bytes > PAUSE_BYTES)
				{
					p->paused = true;
					lws_rx_flow_control(wsi, 0);
				}
				return 0;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			/* EOF or EIO: the command has exited */
			ws_close_after(p->ws, LWS_CLOSE_STATUS_NORMAL, "");
			return -1;
		case LWS_CALLBACK_RAW_CLOSE_FILE:
			p = lws_get_opaque_user_data(wsi);
			lws_set_opaque_user_data(wsi, NULL);
			if (!p)
				return 0;
			p->fdwsi = NULL;
			p->fd = -1;
			if (p->ws)
			{
				p->ws->pty = NULL;
				ws_close_after(p->ws, LWS_CLOSE_STATUS_NORMAL, "");
			}
			free(p);
			return 0;
		default:
			return 0;
	}
}
