#!/usr/bin/env python3
"""bench/failover-writes.py: the writers of bench/failover-loss.

Sends POST /transactions for one user through the load balancer from --threads threads, each write
once with an Idempotency-Key of its own (no retry: a write is acknowledged or not), until --seconds
have passed, and prints one JSON object: every acknowledged write's transaction id with the time
(epoch seconds) its 201 came back, and the other answers counted by status.
"""
import argparse
import json
import threading
import time
import urllib.error
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="http://127.0.0.1:8090")
    ap.add_argument("--key", required=True, help="an API key of the user's organisation")
    ap.add_argument("--user", type=int, required=True)
    ap.add_argument("--run", required=True, help="prefix of the Idempotency-Keys")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    acked, others, lock = [], {}, threading.Lock()
    end = time.time() + a.seconds

    def writer(t):
        n = 0
        while time.time() < end:
            n += 1
            body = json.dumps({"userId": a.user, "amount": "%d.25" % (n % 1000),
                               "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
            req = urllib.request.Request(a.url + "/transactions", data=body, method="POST", headers={
                "Authorization": "Bearer " + a.key, "Content-Type": "application/json",
                "Idempotency-Key": "%s-%d-%d" % (a.run, t, n)})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, answer = r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                status, answer = e.code, None
            except Exception:  # no answer: refused, reset, timed out
                status, answer = -1, None
            with lock:
                if status == 201:
                    acked.append([answer["id"], time.time()])
                else:
                    others[str(status)] = others.get(str(status), 0) + 1
            if status != 201:
                time.sleep(0.1)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"acked": acked, "others": others}))


if __name__ == "__main__":
    main()
