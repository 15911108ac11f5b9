#!/usr/bin/env python3
"""bench/invalidation.py: how long after a write every instance's GET /orgs/{id}/stats shows it.

Each round: the organisation's stats read on every instance (so each holds them in its near-cache
and Redis has them), a POST /users of that organisation through the first instance, and from the
moment its 201 arrives, each instance's stats read again and again by a thread of its own (one
keep-alive connection per instance, no pause) until its "users" count is the new one. Per instance
and round, two figures: "seen", from the 201 to the sending of the first read that came back fresh
(the invalidation had reached the instance by then: an upper bound of its propagation), and
"fresh", from the 201 to that read's answer (the bound plus the fresh read's own time: a miss, which
aggregates the stats again). Reads that came back with the old count are "stale answers"; an
instance still stale after --deadline seconds counts as a miss. Reads carry no consistency token:
they are another client's, which sees the write only through the fleet's invalidation.

Prints one JSON object: rounds, the p50, p90 and max of both figures in ms over all instances and
per instance, the stale answers and the misses.

    bench/invalidation.py --key fk_... --org 7 --rounds 50 10.77.0.11:8080 10.77.0.12:8080 10.77.0.13:8080
"""
import argparse
import http.client
import json
import sys
import threading
import time
import uuid


def connect(address):
    host, port = address.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def request(conn, method, path, key, body=None):
    headers = {"Authorization": "Bearer " + key}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def users(conn, org, key):
    status, data = request(conn, "GET", "/orgs/%d/stats" % org, key)
    if status != 200:
        raise RuntimeError("GET /orgs/%d/stats answered %d: %s" % (org, status, data[:200]))
    return json.loads(data)["users"]


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(len(ordered) * p / 100.0 + 0.999) - 1))
    return round(ordered[index], 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, help="an API key of the organisation (scopes read, write)")
    parser.add_argument("--org", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between rounds")
    parser.add_argument("--deadline", type=float, default=5.0, help="seconds an instance may take before a miss")
    parser.add_argument("apis", nargs="+", help="host:port of each instance; writes go through the first")
    args = parser.parse_args()
    # A bound on what one run sends: rounds x (instances x reads while polling, bounded by the deadline).
    if not 1 <= args.rounds <= 1000 or not 0 < args.deadline <= 30 or not 1 <= len(args.apis) <= 16:
        parser.error("--rounds 1-1000, --deadline up to 30 s, 1-16 instances")

    conns = {api: connect(api) for api in args.apis}
    seen = {api: [] for api in args.apis}    # 201 -> the sending of the first read that came back fresh
    fresh = {api: [] for api in args.apis}   # 201 -> that read's answer
    stale = {api: 0 for api in args.apis}
    misses = {api: 0 for api in args.apis}
    lock = threading.Lock()
    tag = uuid.uuid4().hex[:8]

    failures = []

    def watch(api, written, expected):
        """Reads api's stats until the new count (or the deadline); its own thread, so every instance is
        read from the 201 on, none waiting for another's answer. A failure is kept for the main thread."""
        try:
            poll(api, written, expected)
        except Exception as e:  # a thread's exception would otherwise only be printed, and the round lose a figure
            failures.append("%s: %s" % (api, e))

    def poll(api, written, expected):
        while True:
            sent = time.monotonic()
            now_users = users(conns[api], args.org, args.key)
            answered = time.monotonic()
            with lock:
                if now_users >= expected:
                    seen[api].append((sent - written) * 1000)
                    fresh[api].append((answered - written) * 1000)
                    return
                if answered - written > args.deadline:
                    misses[api] += 1
                    return
                stale[api] += 1

    for n in range(args.rounds):
        before = {api: users(conns[api], args.org, args.key) for api in args.apis}
        body = json.dumps({"email": "inval-%s-%d@bench.test" % (tag, n), "role": "member", "orgId": args.org, "age": 30})
        status, data = request(conns[args.apis[0]], "POST", "/users", args.key, body)
        written = time.monotonic()
        if status != 201:
            raise RuntimeError("POST /users answered %d: %s" % (status, data[:200]))
        expected = max(before.values()) + 1
        watchers = [threading.Thread(target=watch, args=(api, written, expected)) for api in args.apis]
        for w in watchers:
            w.start()
        for w in watchers:
            w.join()
        if failures:
            raise RuntimeError("round %d: %s" % (n, "; ".join(failures)))
        time.sleep(args.pause)

    def figures(values):
        return {"p50_ms": percentile(values, 50), "p90_ms": percentile(values, 90),
                "max_ms": round(max(values), 1) if values else None}

    every_seen = [t for api in args.apis for t in seen[api]]
    every_fresh = [t for api in args.apis for t in fresh[api]]
    report = {
        "rounds": args.rounds,
        "seen": figures(every_seen), "fresh": figures(every_fresh),
        "misses": sum(misses.values()), "stale_answers": sum(stale.values()),
        "instances": {api: {"seen": figures(seen[api]), "fresh": figures(fresh[api]),
                            "stale_answers": stale[api], "misses": misses[api]} for api in args.apis},
    }
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
