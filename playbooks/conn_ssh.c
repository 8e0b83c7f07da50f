/*
 * conn_ssh.c - the SSH connection backend on libssh.
 *
 * One SSH session per host for the whole run: open() connects, verifies the host key and
 * authenticates once; every exec() is one channel on that session, and every put()/get()
 * goes over one SFTP subsystem channel opened on first use and kept open. Nothing starts
 * a process on our side, which is where this beats one `ssh` process per task even with
 * OpenSSH's ControlMaster.
 *
 * exec() reads stdout and stderr through channel callbacks driven by ssh_event_dopoll,
 * so both streams are drained as packets arrive (no deadlock when a command fills one of
 * them while we wait on the other) and a deadline covers the whole command.
 */
#define LOG_COMPONENT "ssh"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "playbooks/playbooks.h"

#define SSH_DEFAULT_CONNECT_TIMEOUT 10 /* seconds */
#define SSH_OP_TIMEOUT 60 /* seconds a blocking request (SFTP, channel open) waits */
#define SSH_SFTP_CHUNK (64u << 10) /* bytes per SFTP read/write request */

struct conn_ssh {
	char *host; /* inventory name, for messages */
	char *where; /* "host n1 (198.18.1.1:22)" */
	ssh_session session;
	sftp_session sftp; /* NULL until the first put/get */
	unsigned long execs;
};

/* What one exec's callbacks collect. */
struct ssh_exec_state {
	struct buf out, err;
	bool overflow;
	bool eof, closed;
	bool have_status;
	int status;
};

/* RFC 4254 signal names and their numbers here. */
static const struct {
	const char *name;
	int signo;
} ssh_signals[] = {
    {"ABRT", SIGABRT},
    {"ALRM", SIGALRM},
    {"FPE", SIGFPE},
    {"HUP", SIGHUP},
    {"ILL", SIGILL},
    {"INT", SIGINT},
    {"KILL", SIGKILL},
    {"PIPE", SIGPIPE},
    {"QUIT", SIGQUIT},
    {"SEGV", SIGSEGV},
    {"TERM", SIGTERM},
    {"USR1", SIGUSR1},
    {"USR2", SIGUSR2},
};

/* The number of an RFC 4254 signal name; 0 when unknown. */
static int
ssh_signal_number(const char *name)
{
	for (size_t i = 0; i < nitems(ssh_signals); i++)
		if (strcmp(ssh_signals[i].name, name) == 0)
			return ssh_signals[i].signo;
	return 0;
}

/*
 * Ask the kernel to acknowledge at once what arrives next. sshd sets TCP_NODELAY only for
 * interactive sessions, so two small packets it writes back to back (auth success and its
 * host keys announcement, a channel confirmation and the exit status) leave Nagle waiting
 * for our ACK, which Linux delays by 40 ms: measured, the first command on a session took
 * 43 ms instead of 2. Quick-ack mode does not stick, so this is called before each wait.
 */
static void
ssh_quickack(struct conn_ssh *c)
{
	int on = 1;
	socket_t fd = ssh_get_fd(c->session);

	if (fd != SSH_INVALID_SOCKET)
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

/* Wait (at most ms) for the socket to be readable, then acknowledge what came. */
static void
ssh_wait_readable(struct conn_ssh *c, int ms)
{
	struct pollfd p = {.fd = ssh_get_fd(c->session), .events = POLLIN};

	poll(&p, 1, ms);
	ssh_quickack(c);
}

/*
 * Repeat a non-blocking libssh call while it answers SSH_AGAIN, for at most
 * SSH_OP_TIMEOUT seconds, acknowledging each packet as it arrives.
 */
#define ssh_nonblocking_call(c, call)                                                             \
	({                                                                                        \
		int64_t until_ = time_mono_us() + (int64_t)SSH_OP_TIMEOUT * 1000000;              \
		int rc_;                                                                          \
		while ((rc_ = (call)) == SSH_AGAIN && time_mono_us() < until_)                    \
			ssh_wait_readable((c), 100);                                              \
		rc_;                                                                              \
	})

/* Set err to "WHERE: what: libssh's message". */
static int
ssh_fail(struct conn_ssh *c, struct dr_error *err, const char *what)
{
	return dr_error_set(err, "%s: %s: %s", c->where, what, ssh_get_error(c->session));
}

/* "SHA256:…" fingerprint of key; caller frees. */
static char *
ssh_key_fingerprint(ssh_key key)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp, *ret;

	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) < 0)
		return xstrdup("(no fingerprint)");
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	ret = xstrdup(fp != NULL ? fp : "(no fingerprint)");
	ssh_string_free_char(fp);
	return ret;
}

/*
 * Check the server's key against the key droverd recorded, or against known_hosts. A key
 * that differs from a recorded one is always refused; an unknown one is learnt only with
 * accept_new_host_key.
 */
static int
ssh_host_key_verify(struct conn_ssh *c, const struct conn_opts *o, struct dr_error *err)
{
	ssh_key server = NULL, recorded = NULL;
	_cleanup_free_ char *fp = NULL;
	char *kh_file = NULL;
	const char *type;
	int r = -1;

	if (ssh_get_server_publickey(c->session, &server) != SSH_OK)
		return ssh_fail(c, err, "no host key");
	fp = ssh_key_fingerprint(server);
	type = ssh_key_type_to_char(ssh_key_type(server));

	if (o->host_key != NULL) {
		_cleanup_free_ char *copy = xstrdup(o->host_key);
		char *sp = strchr(copy, ' ');
		char *b64 = sp != NULL ? sp + 1 : NULL;

		if (b64 != NULL) {
			*sp = '\0';
			b64[strcspn(b64, " \t\n")] = '\0';
		}
		if (b64 == NULL ||
		    ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(copy), &recorded) !=
		        SSH_OK) {
			dr_error_set(
			    err, "%s: the recorded host key is not \"TYPE BASE64\"", c->where);
			goto out;
		}
		if (ssh_key_cmp(server, recorded, SSH_KEY_CMP_PUBLIC) != 0) {
			dr_error_set(err,
			    "%s: HOST KEY CHANGED: the server offers %s %s, which is not the key "
			    "recorded for it; refusing to connect (if the host was reinstalled, "
			    "record its new key)",
			    c->where, type, fp);
			goto out;
		}
		r = 0;
		goto out;
	}

	ssh_options_get(c->session, SSH_OPTIONS_KNOWNHOSTS, &kh_file);
	switch (ssh_session_is_known_server(c->session)) {
	case SSH_KNOWN_HOSTS_OK:
		r = 0;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		dr_error_set(err,
		    "%s: HOST KEY CHANGED: the server offers %s %s, which does not match the key "
		    "in %s; refusing to connect (if the host was reinstalled, remove the old key "
		    "with ssh-keygen -R)",
		    c->where, type, fp, kh_file != NULL ? kh_file : "known_hosts");
		break;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		if (!o->accept_new_host_key) {
			dr_error_set(err,
			    "%s: unknown host key %s %s (not in %s); add it to that file or "
			    "accept new keys (--ssh-accept-new)",
			    c->where, type, fp, kh_file != NULL ? kh_file : "known_hosts");
			break;
		}
		if (ssh_session_update_known_hosts(c->session) != SSH_OK) {
			ssh_fail(c, err, "cannot record the new host key");
			break;
		}
		r = 0;
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		ssh_fail(c, err, "cannot check the host key");
		break;
	}
out:
	ssh_string_free_char(kh_file);
	ssh_key_free(server);
	ssh_key_free(recorded);
	return r;
}

/* Authenticate: the key file if given, else the agent and default keys; then the password. */
static int
ssh_authenticate(struct conn_ssh *c, const struct conn_opts *o, struct dr_error *err)
{
	int rc = SSH_AUTH_DENIED;
	const char *tried = "";

	if (o->private_key_file != NULL) {
		ssh_key key = NULL;

		if (ssh_pki_import_privkey_file(o->private_key_file, NULL, NULL, NULL, &key) !=
		    SSH_OK)
			return dr_error_set(err,
			    "%s: cannot read private key %s (missing, "
			    "unreadable or passphrase-protected)",
			    c->where, o->private_key_file);
		ssh_quickack(c);
		rc = ssh_userauth_publickey(c->session, NULL, key);
		ssh_key_free(key);
		tried = "the key file";
	} else {
		ssh_quickack(c);
		rc = ssh_userauth_publickey_auto(c->session, NULL, NULL);
		tried = "the agent and default keys";
	}
	if (rc == SSH_AUTH_ERROR)
		return ssh_fail(c, err, "authentication failed");
	if (rc != SSH_AUTH_SUCCESS && o->password != NULL) {
		rc = ssh_userauth_password(c->session, NULL, o->password);
		if (rc == SSH_AUTH_ERROR)
			return ssh_fail(c, err, "password authentication failed");
		tried = o->private_key_file != NULL ? "the key file and the password"
		                                    : "the agent, default keys and the password";
	}
	if (rc != SSH_AUTH_SUCCESS) {
		char *user = NULL;
		int r;

		ssh_options_get(c->session, SSH_OPTIONS_USER, &user);
		r = dr_error_set(err, "%s: permission denied for user %s (tried %s)", c->where,
		    user != NULL ? user : "?", tried);
		ssh_string_free_char(user);
		return r;
	}
	return 0;
}

static void ssh_close(void *state);

/*
 * A host that vanishes without closing the connection (power lost, link cut) must not
 * hang a command that has no timeout: after `idle` seconds of silence the kernel probes
 * the peer, and gives up after 3 unanswered probes (about idle * 2 seconds in all); the
 * same bound applies to data sent and never acknowledged.
 */
static void
ssh_keepalive_set(struct conn_ssh *c, int idle)
{
	socket_t fd = ssh_get_fd(c->session);
	int on = 1, intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;
	unsigned int user_timeout = (unsigned int)(idle + intvl * cnt) * 1000u;

	if (fd == SSH_INVALID_SOCKET)
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

/* Connect, verify the host key, authenticate. */
static int
ssh_open(const struct conn_opts *o, void **ret_state, struct dr_error *err)
{
	const char *addr = o->address != NULL ? o->address : o->host;
	int port = o->port > 0 ? o->port : 22;
	long connect_timeout =
	    o->connect_timeout > 0 ? o->connect_timeout : SSH_DEFAULT_CONNECT_TIMEOUT;
	long op_timeout = connect_timeout > SSH_OP_TIMEOUT ? connect_timeout : SSH_OP_TIMEOUT;
	int on = 1;
	struct conn_ssh *c;

	c = xcalloc(1, sizeof(*c));
	c->host = xstrdup(o->host);
	if (strcmp(addr, o->host) == 0 && port == 22)
		c->where = xasprintf("host %s", o->host);
	else
		c->where = xasprintf("host %s (%s:%d)", o->host, addr, port);
	if ((c->session = ssh_new()) == NULL)
		fatalx("ssh_new: out of memory");

	/* The user's ssh_config applies first, so that what the inventory says wins. */
	if (ssh_options_set(c->session, SSH_OPTIONS_HOST, addr) < 0) {
		ssh_fail(c, err, "bad address");
		goto fail;
	}
	if (ssh_options_parse_config(c->session, NULL) < 0) {
		ssh_fail(c, err, "cannot read ssh_config");
		goto fail;
	}
	ssh_options_set(c->session, SSH_OPTIONS_PORT, &port);
	ssh_options_set(c->session, SSH_OPTIONS_TIMEOUT, &connect_timeout);
	ssh_options_set(c->session, SSH_OPTIONS_NODELAY, &on);
	/* Off, libssh's ssh_session_is_known_server() answers OK for any key: an
	 * ssh_config saying "StrictHostKeyChecking no" must not turn our check off. */
	ssh_options_set(c->session, SSH_OPTIONS_STRICTHOSTKEYCHECK, &on);
	if (o->user != NULL && ssh_options_set(c->session, SSH_OPTIONS_USER, o->user) < 0) {
		ssh_fail(c, err, "bad user name");
		goto fail;
	}
	if (o->known_hosts_file != NULL &&
	    ssh_options_set(c->session, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts_file) < 0) {
		ssh_fail(c, err, "bad known_hosts file");
		goto fail;
	}
	if (o->host_key != NULL) {
		/* Ask the server for the type of key that was recorded. */
		_cleanup_free_ char *type = xstrndup(o->host_key, strcspn(o->host_key, " "));

		if (ssh_options_set(c->session, SSH_OPTIONS_HOSTKEYS, type) < 0) {
			dr_error_set(
			    err, "%s: unsupported recorded host key type '%s'", c->where, type);
			goto fail;
		}
	}

	if (ssh_connect(c->session) != SSH_OK) {
		ssh_fail(c, err, "cannot connect");
		goto fail;
	}
	if (ssh_host_key_verify(c, o, err) < 0 || ssh_authenticate(c, o, err) < 0)
		goto fail;
	ssh_options_set(c->session, SSH_OPTIONS_TIMEOUT, &op_timeout);
	ssh_keepalive_set(c, (int)connect_timeout);
	*ret_state = c;
	return 0;
fail:
	ssh_close(c);
	return -1;
}

/* Channel callback: collect stdout/stderr within the cap. */
static int
ssh_exec_on_data(ssh_session session, ssh_channel channel, void *data, uint32_t len, int is_stderr,
    void *userdata)
{
	struct ssh_exec_state *st = userdata;

	if (buf_add(is_stderr ? &st->err : &st->out, data, len) < 0)
		st->overflow = true;
	return (int)len;
}

static void
ssh_exec_on_eof(ssh_session session, ssh_channel channel, void *userdata)
{
	((struct ssh_exec_state *)userdata)->eof = true;
}

static void
ssh_exec_on_close(ssh_session session, ssh_channel channel, void *userdata)
{
	((struct ssh_exec_state *)userdata)->closed = true;
}

static void
ssh_exec_on_exit_status(ssh_session session, ssh_channel channel, int exit_status, void *userdata)
{
	struct ssh_exec_state *st = userdata;

	st->status = exit_status;
	st->have_status = true;
}

static void
ssh_exec_on_exit_signal(ssh_session session, ssh_channel channel, const char *signal, int core,
    const char *errmsg, const char *lang, void *userdata)
{
	struct ssh_exec_state *st = userdata;
	int n = ssh_signal_number(signal);

	st->status = n > 0 ? 128 + n : -1;
	st->have_status = true;
}

/*
 * Run cmd on one new channel. The command runs under the login shell's -c (sshd's
 * behaviour); for POSIX sh semantics whatever that shell is, it is handed to /bin/sh.
 */
static int
ssh_exec(void *state, const char *cmd, const char *in, size_t in_len, int timeout_s,
    struct conn_result *ret, struct dr_error *err)
{
	struct conn_ssh *c = state;
	struct ssh_exec_state st = {
	    .out = BUF_INIT(CONN_OUTPUT_MAX), .err = BUF_INIT(CONN_OUTPUT_MAX), .status = -1};
	struct ssh_channel_callbacks_struct cb = {
	    .userdata = &st,
	    .channel_data_function = ssh_exec_on_data,
	    .channel_eof_function = ssh_exec_on_eof,
	    .channel_close_function = ssh_exec_on_close,
	    .channel_exit_status_function = ssh_exec_on_exit_status,
	    .channel_exit_signal_function = ssh_exec_on_exit_signal,
	};
	int64_t deadline = timeout_s > 0 ? time_mono_us() + (int64_t)timeout_s * 1000000 : 0;
	ssh_channel ch = NULL;
	ssh_event ev = NULL;
	int r = -1, rc;

	ssh_callbacks_init(&cb);
	if ((ch = ssh_channel_new(c->session)) == NULL) {
		ssh_fail(c, err, "cannot make a channel");
		goto out;
	}
	ssh_set_channel_callbacks(ch, &cb);
	/* Non-blocking, so that every packet that arrives is acknowledged at once. */
	ssh_set_blocking(c->session, 0);
	rc = ssh_nonblocking_call(c, ssh_channel_open_session(ch));
	if (rc == SSH_OK)
		rc = ssh_nonblocking_call(c, ssh_channel_request_exec(ch, cmd));
	ssh_set_blocking(c->session, 1);
	if (rc != SSH_OK) {
		ssh_fail(c, err, "cannot start the command");
		goto out;
	}
	c->execs++;
	if (in_len > 0) {
		size_t off = 0;

		while (off < in_len) {
			uint32_t chunk =
			    in_len - off > (1u << 20) ? (1u << 20) : (uint32_t)(in_len - off);
			int n = ssh_channel_write(ch, in + off, chunk);

			if (n == SSH_ERROR) {
				if (st.closed || st.eof)
					break; /* the command did not read all of it */
				ssh_fail(c, err, "cannot send stdin");
				goto out;
			}
			off += (size_t)n;
		}
	}
	if (!st.closed && ssh_channel_send_eof(ch) != SSH_OK && !st.closed) {
		ssh_fail(c, err, "cannot close stdin");
		goto out;
	}

	ev = ssh_event_new();
	ssh_event_add_session(ev, c->session);
	/* OpenSSH sends exit-status, EOF, then closes; wait for the close (or EOF + status). */
	while (!st.closed && !(st.eof && st.have_status)) {
		int wait_ms = 1000;

		if (st.overflow) {
			dr_error_set(err, "%s: the command's output exceeds %u bytes", c->where,
			    CONN_OUTPUT_MAX);
			goto out;
		}
		if (deadline > 0) {
			int64_t left = deadline - time_mono_us();

			if (left <= 0) {
				ssh_channel_request_send_signal(ch, "KILL");
				dr_error_set(err, "%s: the command timed out after %d s", c->where,
				    timeout_s);
				goto out;
			}
			if (left / 1000 < wait_ms)
				wait_ms = (int)(left / 1000) + 1;
		}
		ssh_quickack(c);
		if (ssh_event_dopoll(ev, wait_ms) == SSH_ERROR || !ssh_is_connected(c->session)) {
			ssh_fail(c, err, "connection lost while running a command");
			goto out;
		}
	}
	if (st.overflow) {
		dr_error_set(
		    err, "%s: the command's output exceeds %u bytes", c->where, CONN_OUTPUT_MAX);
		goto out;
	}
	ret->status = st.status;
	ret->out_len = st.out.len;
	ret->out = buf_steal(&st.out);
	ret->err_len = st.err.len;
	ret->err = buf_steal(&st.err);
	r = 0;
out:
	if (ev != NULL) {
		ssh_event_remove_session(ev, c->session);
		ssh_event_free(ev);
	}
	if (ch != NULL) {
		ssh_remove_channel_callbacks(ch, &cb);
		if (ssh_is_connected(c->session) && !ssh_channel_is_closed(ch))
			ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	buf_free(&st.out);
	buf_free(&st.err);
	return r;
}

/* s in single quotes for a POSIX shell; caller frees. */
static char *
ssh_shell_quote(const char *s)
{
	struct buf b = BUF_INIT(0);

	buf_addc(&b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_adds(&b, "'\\''");
		else
			buf_addc(&b, *s);
	}
	buf_addc(&b, '\'');
	return buf_steal(&b);
}

/* Set err from the SFTP session's last error. */
static int
ssh_sftp_fail(struct conn_ssh *c, struct dr_error *err, const char *what, const char *path)
{
	static const char *const codes[] = {"ok", "end of file", "no such file",
	    "permission denied", "failure", "bad message", "no connection", "connection lost",
	    "operation unsupported", "invalid handle", "no such path", "file already exists",
	    "write-protected filesystem", "no media"};
	int code = c->sftp != NULL ? sftp_get_error(c->sftp) : -1;

	if (code > 0 && (size_t)code < nitems(codes))
		return dr_error_set(err, "%s: %s %s: %s", c->where, what, path, codes[code]);
	return dr_error_set(err, "%s: %s %s: %s", c->where, what, path, ssh_get_error(c->session));
}

/* The SFTP session, started on first use and kept for the connection's life. */
static int
ssh_sftp_get(struct conn_ssh *c, struct dr_error *err)
{
	if (c->sftp != NULL)
		return 0;
	if ((c->sftp = sftp_new(c->session)) == NULL)
		return ssh_fail(c, err, "cannot start SFTP");
	ssh_quickack(c);
	if (sftp_init(c->sftp) != SSH_OK) {
		ssh_fail(c, err, "cannot start SFTP");
		sftp_free(c->sftp);
		c->sftp = NULL;
		return -1;
	}
	return 0;
}

/* Write path atomically: a temporary file beside it, chmod, rename over it. */
static int
ssh_put(
    void *state, const char *path, const void *data, size_t len, int mode, struct dr_error *err)
{
	struct conn_ssh *c = state;
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *tmp = NULL;
	sftp_file f = NULL;
	size_t off = 0;
	unsigned rnd;

	if (ssh_sftp_get(c, err) < 0)
		return -1;
	rnd = (unsigned)(time_mono_us() ^ ((uintptr_t)c >> 4)) ^ (unsigned)random();
	if (slash != NULL)
		tmp = xasprintf("%.*s.drover-%08x.tmp", (int)(slash - path + 1), path, rnd);
	else
		tmp = xasprintf(".drover-%08x.tmp", rnd);
	if ((f = sftp_open(c->sftp, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) == NULL)
		return ssh_sftp_fail(c, err, "cannot create", tmp);
	while (off < len) {
		size_t chunk = len - off > SSH_SFTP_CHUNK ? SSH_SFTP_CHUNK : len - off;
		ssize_t n = sftp_write(f, (const char *)data + off, chunk);

		if (n <= 0) {
			ssh_sftp_fail(c, err, "cannot write", tmp);
			goto fail;
		}
		off += (size_t)n;
	}
	if (sftp_close(f) != SSH_NO_ERROR) {
		f = NULL;
		ssh_sftp_fail(c, err, "cannot write", tmp);
		goto fail;
	}
	f = NULL;
	if (sftp_chmod(c->sftp, tmp, (mode_t)(mode & 07777)) < 0) {
		ssh_sftp_fail(c, err, "cannot chmod", tmp);
		goto fail;
	}
	/*
	 * SFTP v3 rename (all libssh 0.10 sends) refuses to replace an existing file, and
	 * libssh 0.10 has no call for OpenSSH's posix-rename extension: when the target
	 * exists, one `mv -f` (rename(2), atomic) does it.
	 */
	if (sftp_rename(c->sftp, tmp, path) < 0) {
		_cleanup_free_ char *qt = ssh_shell_quote(tmp), *qp = ssh_shell_quote(path);
		_cleanup_free_ char *cmd = xasprintf("exec mv -f -- %s %s", qt, qp);
		struct conn_result r = {0};

		if (ssh_exec(c, cmd, NULL, 0, SSH_OP_TIMEOUT, &r, err) < 0)
			goto fail;
		if (r.status != 0) {
			dr_error_set(err, "%s: cannot rename a temporary file to %s: %s", c->where,
			    path, str_trim(r.err));
			free(r.out);
			free(r.err);
			goto fail;
		}
		free(r.out);
		free(r.err);
	}
	return 0;
fail:
	if (f != NULL)
		sftp_close(f);
	if (ssh_is_connected(c->session))
		sftp_unlink(c->sftp, tmp);
	return -1;
}

/* Read at most max bytes of path into out. */
static int
ssh_get(void *state, const char *path, size_t max, struct buf *out, struct dr_error *err)
{
	struct conn_ssh *c = state;
	_cleanup_free_ char *chunk = NULL;
	sftp_attributes a;
	sftp_file f;
	size_t got = 0;
	int r = -1;

	if (ssh_sftp_get(c, err) < 0)
		return -1;
	if ((f = sftp_open(c->sftp, path, O_RDONLY, 0)) == NULL)
		return ssh_sftp_fail(c, err, "cannot open", path);
	if ((a = sftp_fstat(f)) != NULL) {
		bool big = (a->flags & SSH_FILEXFER_ATTR_SIZE) && a->size > max;

		sftp_attributes_free(a);
		if (big) {
			dr_error_set(err, "%s: %s is larger than %zu bytes", c->where, path, max);
			goto out;
		}
	}
	chunk = xmalloc(SSH_SFTP_CHUNK);
	for (;;) {
		ssize_t n = sftp_read(f, chunk, SSH_SFTP_CHUNK);

		if (n < 0) {
			ssh_sftp_fail(c, err, "cannot read", path);
			goto out;
		}
		if (n == 0)
			break;
		if (got + (size_t)n > max) {
			dr_error_set(err, "%s: %s is larger than %zu bytes", c->where, path, max);
			goto out;
		}
		if (buf_add(out, chunk, (size_t)n) < 0) {
			dr_error_set(err, "%s: %s does not fit the buffer", c->where, path);
			goto out;
		}
		got += (size_t)n;
	}
	r = 0;
out:
	sftp_close(f);
	return r;
}

/* lstat over SFTP: no command, no process on the host. */
static int
ssh_lstat(void *state, const char *path, struct conn_stat *ret, struct dr_error *err)
{
	struct conn_ssh *c = state;
	const uint32_t need =
	    SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID | SSH_FILEXFER_ATTR_PERMISSIONS;
	sftp_attributes a;

	memset(ret, 0, sizeof(*ret));
	if (ssh_sftp_get(c, err) < 0)
		return -1;
	if ((a = sftp_lstat(c->sftp, path)) == NULL) {
		if (sftp_get_error(c->sftp) == SSH_FX_NO_SUCH_FILE)
			return 0;
		return ssh_sftp_fail(c, err, "cannot stat", path);
	}
	if ((a->flags & need) != need) {
		sftp_attributes_free(a);
		return dr_error_set(
		    err, "%s: the SFTP server did not say what %s is", c->where, path);
	}
	ret->exists = true;
	ret->mode = a->permissions;
	ret->uid = a->uid;
	ret->gid = a->gid;
	ret->size = (long long)a->size;
	sftp_attributes_free(a);
	return 0;
}

/* Disconnect and free. */
static void
ssh_close(void *state)
{
	struct conn_ssh *c = state;

	if (c == NULL)
		return;
	if (c->sftp != NULL)
		sftp_free(c->sftp);
	if (c->session != NULL) {
		if (ssh_is_connected(c->session))
			ssh_disconnect(c->session);
		ssh_free(c->session);
	}
	free(c->host);
	free(c->where);
	free(c);
}

const struct conn_backend conn_backend_ssh = {
    .name = "ssh",
    .open = ssh_open,
    .exec = ssh_exec,
    .put = ssh_put,
    .get = ssh_get,
    .close = ssh_close,
    .lstat = ssh_lstat,
};
