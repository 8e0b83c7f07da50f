/*
 * http.c - the HTTP client on libcurl.
 *
 * Three entry points share one easy-handle setup (timeouts, TLS, proxy, token):
 * http_json() for API calls, http_stream() to follow a chunked response, and
 * http_download_many() which drives many transfers through one multi handle, so
 * connections to a mirror are kept alive and reused, retrying each file on its own.
 */
#define LOG_COMPONENT "http"
#include "config.h"

#include "core/core.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_JSON_TIMEOUT_MS 60000L
#define DEFAULT_LOW_SPEED_TIME_S 30L
#define DEFAULT_RETRY_BASE_MS 500L
#define DEFAULT_RETRY_MAX_MS 30000L
#define DEFAULT_MAX_RESPONSE (16 * 1024 * 1024)
#define ERROR_BODY_MAX (64 * 1024)
#define MAX_REDIRECTS 10
#define CLIENT_WRITEBACK_MIN (1u << 20) /* no_sync files from this size start writeback */
#define CLIENT_BIG_FILE (1u << 20) /* downloads that may be this big read ... */
#define CLIENT_BIG_BUFFER (512L << 10) /* ... this much at a time (curl's default: 16 KiB) */

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t client_lock = PTHREAD_MUTEX_INITIALIZER;
static char *client_proxy;

/* curl_global_init is not thread-safe: run it once, whoever calls first. */
static void
client_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
}

/* Set the default proxy. */
void
http_client_set_proxy(const char *proxy)
{
	pthread_mutex_lock(&client_lock);
	free(client_proxy);
	client_proxy = proxy != NULL && *proxy != '\0' ? xstrdup(proxy) : NULL;
	pthread_mutex_unlock(&client_lock);
}

/* The wait before retry number attempt (1-based): Retry-After if given, else backoff. */
static long
client_backoff_ms(const struct http_client_opts *o, int attempt, long retry_after_s)
{
	long base = o->retry_base_ms > 0 ? o->retry_base_ms : DEFAULT_RETRY_BASE_MS;
	long max = o->retry_max_ms > 0 ? o->retry_max_ms : DEFAULT_RETRY_MAX_MS;
	long wait = base;

	if (retry_after_s > 0)
		return retry_after_s > max / 1000 ? max : retry_after_s * 1000;
	for (int i = 1; i < attempt && wait < max; i++)
		wait *= 2;
	return wait < max ? wait : max;
}

/* Sleep for ms milliseconds, through signals. */
static void
client_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Transport errors worth another attempt, and whether the request surely went unsent. */
static bool
client_curl_retryable(CURLcode rc, bool *ret_unsent)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		*ret_unsent = true;
		return true;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		*ret_unsent = false;
		return true;
	default:
		*ret_unsent = false;
		return false;
	}
}

/* Statuses worth another attempt; 429 and 503 also say the request was not processed. */
static bool
client_status_retryable(long status, bool *ret_unprocessed)
{
	*ret_unprocessed = status == 429 || status == 503;
	return status == 429 || (status >= 500 && status <= 599);
}

/*
 * A configured easy handle. headers receives the list to free after the transfer;
 * errbuf (CURL_ERROR_SIZE) receives curl's detailed message.
 */
static CURL *
client_easy(const char *url, const struct http_client_opts *o, long default_timeout_ms,
    bool low_speed, struct curl_slist **headers, char *errbuf)
{
	CURL *c;

	pthread_once(&client_once, client_global_init);
	if ((c = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(
	    c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : default_timeout_ms);
	if (low_speed) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
		    o->low_speed_time_s > 0 ? o->low_speed_time_s : DEFAULT_LOW_SPEED_TIME_S);
	}
	if (o->max_recv_bytes_per_s > 0)
		curl_easy_setopt(
		    c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)o->max_recv_bytes_per_s);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	pthread_mutex_lock(&client_lock);
	curl_easy_setopt(c, CURLOPT_PROXY,
	    o->proxy != NULL           ? o->proxy
	        : client_proxy != NULL ? client_proxy
	                               : "");
	pthread_mutex_unlock(&client_lock);
	if (o->bearer_token != NULL) {
		char *h = xasprintf("Authorization: Bearer %s", o->bearer_token);

		*headers = curl_slist_append(*headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	return c;
}

/* The message for a failed transfer: curl's detail when it has one. */
static const char *
client_curl_message(CURLcode rc, const char *errbuf)
{
	return errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
}

/* A response body held in memory, under a cap. */
struct client_body {
	struct buf b;
	bool too_large;
};

/* curl write callback into a client_body. */
static size_t
client_body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct client_body *body = userdata;

	if (buf_add(&body->b, data, size * nmemb) < 0) {
		body->too_large = true;
		return 0;
	}
	return size * nmemb;
}

/* Append ": message" from a {"error": {"message": ...}} body, if there is one. */
static void
client_error_detail(char *out, size_t size, const char *body, size_t len)
{
	json_t *j = body != NULL && len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *msg = NULL;

	out[0] = '\0';
	if (j != NULL && json_unpack(j, "{s:{s:s}}", "error", "message", &msg) == 0)
		snprintf(out, size, ": %s", msg);
	json_decref(j);
}

/* Idempotent methods can be repeated after a failure whatever the server did. */
static bool
client_method_idempotent(const char *method)
{
	static const char *const idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};

	for (size_t i = 0; i < nitems(idempotent); i++)
		if (strcasecmp(method, idempotent[i]) == 0)
			return true;
	return false;
}

/* One JSON request with retries. */
int
http_json(const char *method, const char *url, const json_t *body,
    const struct http_client_opts *o, long *ret_status, json_t **ret_json, struct dr_error *err)
{
	size_t max = o->max_response > 0 ? o->max_response : DEFAULT_MAX_RESPONSE;
	bool idempotent = client_method_idempotent(method);
	_cleanup_free_ char *payload = NULL;
	char errbuf[CURL_ERROR_SIZE], detail[512];
	int attempts = o->retries > 0 ? o->retries + 1 : 1;

	if (body != NULL && (payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return dr_error_set(err, "%s: cannot encode the request body", url);
	for (int attempt = 1;; attempt++) {
		struct client_body resp = {.b = BUF_INIT(max)};
		struct curl_slist *headers = NULL;
		long status = 0, retry_after = 0;
		bool safe, retry;
		json_error_t jerr;
		json_t *j = NULL;
		CURLcode rc;
		CURL *c;

		c = client_easy(url, o, DEFAULT_JSON_TIMEOUT_MS, true, &headers, errbuf);
		headers = curl_slist_append(headers, "Accept: application/json");
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (strcasecmp(method, "HEAD") == 0)
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		if (payload != NULL) {
			headers = curl_slist_append(headers, "Content-Type: application/json");
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
			curl_easy_setopt(
			    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_body_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
		curl_easy_cleanup(c);
		curl_slist_free_all(headers);

		if (resp.too_large) {
			buf_free(&resp.b);
			return dr_error_set(err, "%s: response larger than %zu bytes", url, max);
		}
		if (rc != CURLE_OK) {
			retry = client_curl_retryable(rc, &safe) && (idempotent || safe);
			buf_free(&resp.b);
			if (retry && attempt < attempts) {
				client_sleep_ms(client_backoff_ms(o, attempt, 0));
				continue;
			}
			if (attempt > 1)
				return dr_error_set(err, "%s: %s (after %d attempts)", url,
				    client_curl_message(rc, errbuf), attempt);
			return dr_error_set(err, "%s: %s", url, client_curl_message(rc, errbuf));
		}
		if (client_status_retryable(status, &safe)) {
			if ((idempotent || safe) && attempt < attempts) {
				buf_free(&resp.b);
				client_sleep_ms(client_backoff_ms(o, attempt, retry_after));
				continue;
			}
			client_error_detail(detail, sizeof detail, resp.b.data, resp.b.len);
			buf_free(&resp.b);
			return dr_error_set(err, "%s: HTTP %ld after %d attempt%s%s", url, status,
			    attempt, attempt == 1 ? "" : "s", detail);
		}
		if (resp.b.len > 0) {
			j = json_loadb(resp.b.data, resp.b.len, 0, &jerr);
			if (j == NULL && status >= 200 && status < 300) {
				buf_free(&resp.b);
				return dr_error_set(err, "%s: response is not JSON: %d:%d: %s",
				    url, jerr.line, jerr.column, jerr.text);
			}
		}
		buf_free(&resp.b);
		if (ret_status != NULL)
			*ret_status = status;
		if (ret_json != NULL)
			*ret_json = j;
		else
			json_decref(j);
		return 0;
	}
}

/* State of one http_stream() attempt. */
struct client_stream {
	CURL *curl;
	int (*on_data)(void *ctx, const char *data, size_t len);
	void *ctx;
	long status; /* known from the first body bytes */
	bool delivered; /* on_data saw bytes: no retry after this */
	bool stopped; /* on_data asked to stop */
	struct buf error; /* the body of an error status */
};

/* curl write callback for http_stream(): data to the caller, error bodies aside. */
static size_t
client_stream_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct client_stream *st = userdata;
	size_t len = size * nmemb;

	if (st->status == 0)
		curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->status);
	if (st->status >= 400) {
		buf_add(&st->error, data, len); /* the first ERROR_BODY_MAX bytes are enough */
		return len;
	}
	st->delivered = true;
	if (st->on_data(st->ctx, data, len) != 0) {
		st->stopped = true;
		return 0;
	}
	return len;
}

/* Follow a streamed response. */
int
http_stream(const char *url, const struct http_client_opts *o,
    int (*on_data)(void *ctx, const char *data, size_t len), void *ctx, long *ret_status,
    struct dr_error *err)
{
	int attempts = o->retries > 0 ? o->retries + 1 : 1;
	char errbuf[CURL_ERROR_SIZE], detail[512];

	for (int attempt = 1;; attempt++) {
		struct client_stream st = {
		    .on_data = on_data, .ctx = ctx, .error = BUF_INIT(ERROR_BODY_MAX)};
		struct curl_slist *headers = NULL;
		long status = 0, retry_after = 0;
		bool unsent, retry;
		CURLcode rc;

		st.curl = client_easy(url, o, 0, false, &headers, errbuf);
		curl_easy_setopt(st.curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(st.curl, CURLOPT_WRITEFUNCTION, client_stream_write);
		curl_easy_setopt(st.curl, CURLOPT_WRITEDATA, &st);
		rc = curl_easy_perform(st.curl);
		curl_easy_getinfo(st.curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(st.curl, CURLINFO_RETRY_AFTER, &retry_after);
		curl_easy_cleanup(st.curl);
		curl_slist_free_all(headers);

		if (st.stopped || (rc == CURLE_OK && status < 400)) {
			buf_free(&st.error);
			if (ret_status != NULL)
				*ret_status = status;
			return 0;
		}
		if (rc != CURLE_OK)
			retry = client_curl_retryable(rc, &unsent) && !st.delivered;
		else
			retry = client_status_retryable(status, &unsent);
		if (retry && attempt < attempts) {
			buf_free(&st.error);
			client_sleep_ms(
			    client_backoff_ms(o, attempt, rc == CURLE_OK ? retry_after : 0));
			continue;
		}
		if (rc != CURLE_OK) {
			buf_free(&st.error);
			return dr_error_set(err, "%s: %s", url, client_curl_message(rc, errbuf));
		}
		client_error_detail(detail, sizeof detail, st.error.data, st.error.len);
		buf_free(&st.error);
		return dr_error_set(err, "%s: HTTP %ld%s", url, status, detail);
	}
}

/* One file of http_download_many(). */
struct client_dl {
	struct http_download *d;
	const struct http_client_opts *o;
	CURL *curl;
	struct curl_slist *headers;
	char *part;
	int fd;
	EVP_MD_CTX *sha;
	uint64_t resumed_from; /* bytes of .part kept from before this attempt */
	uint64_t size; /* bytes in .part now */
	bool first_write;
	bool fatal; /* failed for a reason another attempt will not fix */
	char fatal_msg[200];
	int attempt;
	int64_t not_before_us;
	bool active;
	bool done;
	char errbuf[CURL_ERROR_SIZE];
};

/* Finish a download with an error naming the URL. */
static void DR_PRINTF(2, 3) client_dl_fail(struct client_dl *dl, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(dl->d->error, sizeof dl->d->error, "%s: %s", dl->d->url, msg);
	dl->d->result = -1;
	dl->done = true;
}

/* Start the hash over (a restart from byte 0). */
static void
client_dl_hash_reset(struct client_dl *dl)
{
	if (dl->sha != NULL && EVP_DigestInit_ex(dl->sha, EVP_sha256(), NULL) != 1)
		fatalx("EVP_DigestInit_ex(sha256) failed");
}

/* Empty the .part file and the hash. */
static int
client_dl_truncate(struct client_dl *dl)
{
	if (ftruncate(dl->fd, 0) < 0 || lseek(dl->fd, 0, SEEK_SET) < 0)
		return -1;
	dl->size = dl->resumed_from = 0;
	client_dl_hash_reset(dl);
	return 0;
}

/* Feed the bytes already in .part to the hash, so a resumed file is verified whole. */
static int
client_dl_hash_part(struct client_dl *dl)
{
	char chunk[65536];
	uint64_t left = dl->size;
	off_t off = 0;

	while (left > 0) {
		ssize_t n = pread(dl->fd, chunk, left < sizeof chunk ? left : sizeof chunk, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		EVP_DigestUpdate(dl->sha, chunk, (size_t)n);
		left -= (uint64_t)n;
		off += n;
	}
	return 0;
}

/* curl write callback: into .part, through the hash, under max_size. */
static size_t
client_dl_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct client_dl *dl = userdata;
	size_t len = size * nmemb, done = 0;

	if (dl->first_write) {
		long status = 0;

		dl->first_write = false;
		curl_easy_getinfo(dl->curl, CURLINFO_RESPONSE_CODE, &status);
		/* A 200 to a Range request is the whole file: start over. */
		if (dl->resumed_from > 0 && status != 206 && client_dl_truncate(dl) < 0) {
			snprintf(dl->fatal_msg, sizeof dl->fatal_msg, "%s: %s", dl->part,
			    strerror(errno));
			dl->fatal = true;
			return 0;
		}
	}
	if (dl->d->max_size > 0 && dl->size + len > dl->d->max_size) {
		snprintf(dl->fatal_msg, sizeof dl->fatal_msg,
		    "larger than the limit of %llu bytes", (unsigned long long)dl->d->max_size);
		dl->fatal = true;
		return 0;
	}
	while (done < len) {
		ssize_t n = write(dl->fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(dl->fatal_msg, sizeof dl->fatal_msg, "%s: %s", dl->part,
			    strerror(errno));
			dl->fatal = true;
			return 0;
		}
		done += (size_t)n;
	}
	if (dl->sha != NULL)
		EVP_DigestUpdate(dl->sha, data, len);
	dl->size += len;
	return len;
}

/* Release what one attempt holds (the .part file stays). */
static void
client_dl_release(struct client_dl *dl, CURLM *multi)
{
	if (dl->curl != NULL) {
		curl_multi_remove_handle(multi, dl->curl);
		curl_easy_cleanup(dl->curl);
		dl->curl = NULL;
	}
	curl_slist_free_all(dl->headers);
	dl->headers = NULL;
	/* An unnamed file (O_TMPFILE) is all there is of a download: it stays open for the
	 * next attempt to resume, and goes when the download is over. */
	if (dl->fd >= 0 && (!dl->d->unnamed || dl->done)) {
		close(dl->fd);
		dl->fd = -1;
	}
	dl->active = false;
}

/* Drop what a failed download wrote (an unnamed file goes when it is closed). */
static void
client_dl_discard(struct client_dl *dl)
{
	if (!dl->d->unnamed)
		unlink(dl->part);
}

/* Begin an attempt: open (or resume) .part and add the transfer to the multi handle. */
static void
client_dl_start(struct client_dl *dl, CURLM *multi)
{
	struct stat st;

	if (!dl->d->unnamed)
		dl->fd = open(dl->part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	else if (dl->fd < 0)
		dl->fd = open(dl->d->dest_path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (dl->fd < 0 || fstat(dl->fd, &st) < 0) {
		client_dl_fail(dl, "%s: %s", dl->part, strerror(errno));
		client_dl_release(dl, multi);
		return;
	}
	dl->size = (uint64_t)st.st_size;
	client_dl_hash_reset(dl);
	if ((dl->d->max_size > 0 && dl->size > dl->d->max_size) ||
	    (dl->sha != NULL && dl->size > 0 && client_dl_hash_part(dl) < 0))
		client_dl_truncate(dl);
	dl->resumed_from = dl->size;
	if (lseek(dl->fd, (off_t)dl->size, SEEK_SET) < 0) {
		client_dl_fail(dl, "%s: %s", dl->part, strerror(errno));
		client_dl_release(dl, multi);
		return;
	}
	dl->first_write = true;
	dl->fatal = false;
	dl->attempt++;
	dl->curl = client_easy(dl->d->url, dl->o, 0, true, &dl->headers, dl->errbuf);
	curl_easy_setopt(dl->curl, CURLOPT_HTTPHEADER, dl->headers);
	curl_easy_setopt(dl->curl, CURLOPT_PRIVATE, dl);
	curl_easy_setopt(dl->curl, CURLOPT_WRITEFUNCTION, client_dl_write);
	curl_easy_setopt(dl->curl, CURLOPT_WRITEDATA, dl);
	curl_easy_setopt(dl->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(dl->curl, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
	curl_easy_setopt(dl->curl, CURLOPT_FAILONERROR, 1L);
	if (dl->d->max_size > 0)
		curl_easy_setopt(dl->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)dl->d->max_size);
	/* Big files in bigger reads: fewer callbacks, writes and hash updates per byte (not
	 * under a rate limit, which curl keeps by pausing between reads of one buffer). */
	if (dl->d->max_size >= CLIENT_BIG_FILE && dl->o->max_recv_bytes_per_s == 0)
		curl_easy_setopt(dl->curl, CURLOPT_BUFFERSIZE, CLIENT_BIG_BUFFER);
	if (dl->size > 0)
		curl_easy_setopt(dl->curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)dl->size);
	if (curl_multi_add_handle(multi, dl->curl) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
	dl->active = true;
}

/* Verify the finished .part and move it into place. */
static void
client_dl_finish(struct client_dl *dl)
{
	if (dl->sha != NULL) {
		unsigned char md[EVP_MAX_MD_SIZE];
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		unsigned int mdlen = 0;

		EVP_DigestFinal_ex(dl->sha, md, &mdlen);
		for (unsigned int i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (strcasecmp(hex, dl->d->sha256) != 0) {
			client_dl_discard(dl);
			client_dl_fail(
			    dl, "SHA-256 mismatch: expected %s, got %s", dl->d->sha256, hex);
			return;
		}
	}
	/* A big file the caller flushes later starts on its way to the disk now, so that the
	 * flush finds little left to write. */
	if (dl->d->no_sync && dl->size >= CLIENT_WRITEBACK_MIN)
		(void)sync_file_range(dl->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if ((!dl->d->no_sync && fsync(dl->fd) < 0) ||
	    (!dl->d->in_place && !dl->d->unnamed && rename(dl->part, dl->d->dest_path) < 0)) {
		client_dl_fail(dl, "%s: %s", dl->d->dest_path, strerror(errno));
		return;
	}
	if (dl->d->unnamed) { /* the caller's now */
		dl->d->fd = dl->fd;
		dl->fd = -1;
	}
	dl->d->result = 0;
	dl->d->error[0] = '\0';
	dl->done = true;
}

/* A transfer ended: finish, fail, or schedule another attempt. */
static void
client_dl_done(struct client_dl *dl, CURLM *multi, CURLcode rc)
{
	int attempts = dl->o->retries > 0 ? dl->o->retries + 1 : 1;
	long status = 0, retry_after = 0;
	bool unsent, retry = false;

	curl_easy_getinfo(dl->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(dl->curl, CURLINFO_RETRY_AFTER, &retry_after);
	if (dl->fatal) {
		client_dl_discard(dl);
		client_dl_fail(dl, "%s", dl->fatal_msg);
	} else if (rc == CURLE_OK) {
		client_dl_finish(dl);
	} else if (rc == CURLE_FILESIZE_EXCEEDED) {
		client_dl_discard(dl);
		client_dl_fail(dl, "larger than the limit of %llu bytes",
		    (unsigned long long)dl->d->max_size);
	} else if (rc == CURLE_HTTP_RETURNED_ERROR && status == 416 && dl->resumed_from > 0) {
		/* The .part is not a prefix the server can continue: start over, now. */
		client_dl_truncate(dl);
		retry = true;
	} else if (rc == CURLE_HTTP_RETURNED_ERROR) {
		retry = client_status_retryable(status, &unsent);
		if (!retry || dl->attempt >= attempts)
			client_dl_fail(dl, "HTTP %ld%s", status, retry ? " after retries" : "");
	} else {
		retry = client_curl_retryable(rc, &unsent);
		retry_after = 0;
		if (!retry || dl->attempt >= attempts)
			client_dl_fail(dl, "%s", client_curl_message(rc, dl->errbuf));
	}
	client_dl_release(dl, multi);
	if (dl->done && dl->d->result != 0) {
		struct stat st;

		/* An empty .part helps nobody resume. */
		if (!dl->d->unnamed && stat(dl->part, &st) == 0 && st.st_size == 0)
			unlink(dl->part);
	}
	if (!dl->done)
		dl->not_before_us = time_mono_us() +
		    (status == 416
		            ? 0
		            : 1000 * (int64_t)client_backoff_ms(dl->o, dl->attempt, retry_after));
}

/* Parallel downloads through one multi handle. */
int
http_download_many(struct http_download *d, size_t n, int concurrency,
    const struct http_client_opts *o, struct dr_error *err)
{
	struct client_dl *dls = xcalloc(n, sizeof *dls);
	size_t remaining = n, active = 0, failed = 0, first_failed = n;
	/* Every download before first is done, every one from fresh on never started, and
	 * retrying of those between wait for another attempt: a turn of the loop looks at
	 * those, not at a round of thousands whole. */
	size_t first = 0, fresh = 0, retrying = 0;
	CURLM *multi;

	pthread_once(&client_once, client_global_init);
	if (concurrency <= 0)
		concurrency = 4;
	if ((multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency);
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)concurrency);
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);

	for (size_t i = 0; i < n; i++) {
		struct client_dl *dl = &dls[i];

		dl->d = &d[i];
		dl->o = o;
		dl->fd = -1;
		d[i].fd = -1;
		d[i].result = -1;
		d[i].error[0] = '\0';
		dl->part =
		    d[i].in_place ? xstrdup(d[i].dest_path) : xasprintf("%s.part", d[i].dest_path);
		if (d[i].sha256 != NULL) {
			if (strlen(d[i].sha256) != 64 ||
			    strspn(d[i].sha256, "0123456789abcdefABCDEF") != 64) {
				client_dl_fail(
				    dl, "bad SHA-256 \"%s\": expected 64 hex digits", d[i].sha256);
				remaining--;
				continue;
			}
			if ((dl->sha = EVP_MD_CTX_new()) == NULL)
				fatalx("EVP_MD_CTX_new failed");
		}
	}

	while (remaining > 0) {
		int64_t now = time_mono_us(), wait_us = 1000000;
		struct CURLMsg *msg;
		int running, left;

		while (first < fresh && dls[first].done)
			first++;
		for (size_t i = first; retrying > 0 && i < fresh && active < (size_t)concurrency;
		     i++) {
			struct client_dl *dl = &dls[i];

			if (dl->done || dl->active)
				continue;
			if (dl->not_before_us > now) {
				if (dl->not_before_us - now < wait_us)
					wait_us = dl->not_before_us - now;
				continue;
			}
			retrying--;
			client_dl_start(dl, multi);
			if (dl->active)
				active++;
			else if (dl->done)
				remaining--;
		}
		for (; fresh < n && active < (size_t)concurrency; fresh++) {
			struct client_dl *dl = &dls[fresh];

			if (dl->done)
				continue;
			client_dl_start(dl, multi);
			if (dl->active)
				active++;
			else if (dl->done)
				remaining--;
		}
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct client_dl *dl = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&dl);
			client_dl_done(dl, multi, msg->data.result);
			active--;
			if (dl->done)
				remaining--;
			else
				retrying++;
			wait_us = 0;
		}
		if (remaining > 0 && wait_us > 0)
			curl_multi_poll(multi, NULL, 0, (int)(wait_us / 1000) + 1, NULL);
	}
	curl_multi_cleanup(multi);

	for (size_t i = 0; i < n; i++) {
		if (d[i].result != 0) {
			failed++;
			if (first_failed == n)
				first_failed = i;
		}
		EVP_MD_CTX_free(dls[i].sha);
		free(dls[i].part);
	}
	free(dls);
	if (failed > 0)
		return dr_error_set(err, "%zu of %zu downloads failed; the first: %s", failed, n,
		    d[first_failed].error);
	return 0;
}
