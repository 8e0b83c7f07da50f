#!/usr/bin/env python3
"""httpd.py - a small HTTP server for playbook tests (get_url, uri, unarchive).

    httpd.py ADDRESS PORT DIRECTORY

Serves DIRECTORY (GET and HEAD, If-Modified-Since answered with 304), and:
  POST|PUT|PATCH|DELETE /echo  -> 200 JSON {"method", "body", "json", "headers"}
  GET /status/NNN              -> status NNN with a short text body
  GET /redirect                -> 302 to /file.txt
  GET /cookie                  -> 200 with Set-Cookie: session=abc
Requests are logged to stderr. Runs until killed.
"""
import functools
import json
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    def _reply(self, status, body, ctype="text/plain", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _echo(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            return self._reply(413, "too large\n")
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        out = {"method": self.command, "body": raw, "json": parsed,
               "headers": {k.lower(): v for k, v in self.headers.items()}}
        self._reply(200, json.dumps(out), "application/json")

    def do_GET(self):
        if self.path.startswith("/status/"):
            try:
                code = int(self.path[8:])
            except ValueError:
                code = 400
            return self._reply(code, "status %d\n" % code)
        if self.path == "/redirect":
            return self._reply(302, "", extra={"Location": "/file.txt"})
        if self.path == "/cookie":
            return self._reply(200, "{}", "application/json", {"Set-Cookie": "session=abc; Path=/"})
        if self.path == "/echo":
            return self._echo()
        return super().do_GET()

    do_POST = do_PUT = do_PATCH = do_DELETE = _echo


def main():
    addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    handler = functools.partial(Handler, directory=root)
    srv = ThreadingHTTPServer((addr, port), handler)
    print("listening on %s:%d" % (addr, port), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
