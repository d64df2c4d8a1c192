#!/usr/bin/env python3
"""serve_load.py - load test of `xlat-decode --serve` (POST /translate), python3's standard library only.

    serve_load.py URL INPUT EXPECTED [--clients C] [--requests N] [--list K] [--deadline S]

INPUT holds sentences, one a line; EXPECTED what `xlat-decode --model M` prints for INPUT (one line each); lines
blank in INPUT are left out. C client threads (default 32), each on its own keep-alive connection, send N requests
in all (default 10000): request i carries sentence i mod M (M lines with text), or with --list K the list of
sentences iK .. iK+K-1 (mod M). Every request is tagged with its index i; each answer is counted against its index
and compared with EXPECTED. Prints requests/s, sentences/s, latency percentiles (ms) and errors by status code.

Exit status: 0 when every request got exactly one 200 answer equal to the expected translation(s); 1 on any
mismatch, error status, lost (unanswered or unsent) request or double answer; 2 on a usage error. The run is bounded
by N requests and by --deadline seconds (default 900): requests not sent by then count as lost. Only loopback
addresses are accepted as the server.
"""
import argparse
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse


def read_lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]


def loopback(host):
    try:
        return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="the server, e.g. http://127.0.0.1:8080")
    ap.add_argument("input", help="sentences, one a line")
    ap.add_argument("expected", help="xlat-decode's output for INPUT, one line each")
    ap.add_argument("--clients", type=int, default=32, help="concurrent connections (default 32)")
    ap.add_argument("--requests", type=int, default=10000, help="requests in all (default 10000)")
    ap.add_argument("--list", type=int, default=0, metavar="K", help="send lists of K sentences instead of one string")
    ap.add_argument("--source", default="en")
    ap.add_argument("--target", default="de")
    ap.add_argument("--timeout", type=float, default=120, help="seconds one request may take (default 120)")
    ap.add_argument("--deadline", type=float, default=900, help="seconds the whole run may take (default 900)")
    ap.add_argument("--show", type=int, default=5, help="mismatches printed in full (default 5)")
    a = ap.parse_args()
    if a.clients < 1 or a.requests < 1 or a.list < 0:
        ap.error("--clients and --requests must be at least 1, --list at least 0")

    url = urllib.parse.urlsplit(a.url)
    if url.scheme != "http" or not url.hostname:
        ap.error("URL must be http://HOST:PORT, got %r" % a.url)
    if not loopback(url.hostname):
        ap.error("%s is not a loopback address: this load test only targets servers on this machine" % url.hostname)
    host, port = url.hostname, url.port or 80
    path = (url.path.rstrip("/") or "") + "/translate"

    src, ref = read_lines(a.input), read_lines(a.expected)
    if len(src) != len(ref):
        sys.exit("serve_load: %s has %d lines but %s has %d" % (a.input, len(src), a.expected, len(ref)))
    pairs = [(s, r) for s, r in zip(src, ref) if s.strip()]
    if not pairs:
        sys.exit("serve_load: %s has no line with text" % a.input)
    k = max(a.list, 1)

    def request_items(i):
        return [pairs[(i * k + j) % len(pairs)] for j in range(k)]

    lock = threading.Lock()
    state = {"next": 0}
    answers = [0] * a.requests          # answers counted per request index
    latency = [None] * a.requests       # seconds, for 200 answers
    status_count = {}                   # status code (or exception name) -> count
    mismatches = []                     # (index, sentence(s), expected, got)
    reconnects = [0]
    start = time.monotonic()

    def take():
        with lock:
            i = state["next"]
            if i >= a.requests or time.monotonic() - start > a.deadline:
                return None
            state["next"] = i + 1
            return i

    def count(key):
        with lock:
            status_count[key] = status_count.get(key, 0) + 1

    def client():
        conn = None
        while True:
            i = take()
            if i is None:
                break
            items = request_items(i)
            q = [s for s, _ in items] if a.list else items[0][0]
            body = json.dumps({"q": q, "source": a.source, "target": a.target, "format": "text"}).encode()
            headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
            for attempt in range(2):  # a kept-alive connection the server closed meanwhile: once more on a new one
                fresh = conn is None
                if fresh:
                    conn = http.client.HTTPConnection(host, port, timeout=a.timeout)
                t0 = time.monotonic()
                try:
                    conn.request("POST", path, body, headers)
                    res = conn.getresponse()
                    data = res.read()
                    dt = time.monotonic() - t0
                    if res.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except (http.client.HTTPException, OSError) as e:
                    conn.close()
                    conn = None
                    if not fresh and attempt == 0 and not isinstance(e, socket.timeout):
                        with lock:
                            reconnects[0] += 1
                        continue
                    count(type(e).__name__)
                    break
                count(res.status)
                if res.status != 200:
                    break
                with lock:
                    answers[i] += 1
                    latency[i] = dt
                try:
                    got = json.loads(data.decode("utf-8"))["translatedText"]
                except (ValueError, KeyError, TypeError):
                    got = data.decode("utf-8", "replace")
                want = [r for _, r in items] if a.list else items[0][1]
                if got != want:
                    with lock:
                        mismatches.append((i, q, want, got))
                break
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start

    ok = sum(1 for n in answers if n == 1)
    lost = sum(1 for n in answers if n == 0)
    twice = sum(1 for n in answers if n > 1)
    lat = sorted(x * 1000 for x in latency if x is not None)
    print("serve_load: %d requests (%s), %d clients, %.1f s" %
          (a.requests, "lists of %d sentences" % k if a.list else "one sentence each", a.clients, elapsed))
    print("  requests/s   %.1f" % (ok / elapsed))
    print("  sentences/s  %.1f" % (ok * k / elapsed))
    if lat:
        print("  latency ms   p50 %.1f  p90 %.1f  p99 %.1f  max %.1f" %
              (percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), lat[-1]))
    print("  answers      %s" % ", ".join("%s: %d" % (s, n) for s, n in sorted(status_count.items(), key=str)))
    if reconnects[0]:
        print("  reconnects   %d (kept-alive connections closed by the server, requests sent again)" % reconnects[0])
    print("  correct %d, wrong %d, lost %d, answered twice %d" % (ok - len(mismatches), len(mismatches), lost, twice))
    for i, q, want, got in sorted(mismatches)[:a.show]:
        print("MISMATCH request %d: q=%s\n  expected %s\n  got      %s" %
              (i, json.dumps(q, ensure_ascii=False), json.dumps(want, ensure_ascii=False),
               json.dumps(got, ensure_ascii=False)), file=sys.stderr)
    if mismatches or lost or twice:
        print("serve_load: FAILED (%d wrong, %d lost, %d answered twice)" % (len(mismatches), lost, twice),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
