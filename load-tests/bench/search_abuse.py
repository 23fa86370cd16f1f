#!/usr/bin/env python3
"""The clients of search-abuse.sh: the seed's users 2 to 6 search QUERIES in turn, each at 10
a second with at most 10 in flight (a tick with 10 in flight is skipped and counted); user 1
searches "zebra" every 200 ms. Prints one JSON line: user 1's latency percentiles and the
answers the others got, by status or error code.

    search_abuse.py BASE SEED_JSON SECS QUERIES
"""
import json
import sys
import threading
import time

import requests

RATE = 10
IN_FLIGHT = 10


def main():
    base, seed, secs, queries = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    users = json.load(open(seed))["users"]
    stop = time.time() + secs
    lock = threading.Lock()
    answers = {}

    def count(key):
        with lock:
            answers[key] = answers.get(key, 0) + 1

    def attacker(user):
        local = threading.local()
        slots = threading.Semaphore(IN_FLIGHT)

        def one(q):
            try:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                    local.session.headers["Authorization"] = "Bearer " + user["token"]
                r = local.session.get(f"{base}/api/search", params={"q": q})
                count("200" if r.status_code == 200 else r.json()["error"]["code"])
            finally:
                slots.release()

        terms, i, next_at = queries.split(","), 0, time.time()
        while time.time() < stop:
            if slots.acquire(blocking=False):
                threading.Thread(target=one, args=(terms[i % len(terms)],)).start()
                i += 1
            else:
                count("skipped")
            next_at += 1 / RATE
            time.sleep(max(0, next_at - time.time()))

    latencies, statuses = [], {}

    def bystander(user):
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + user["token"]
        while time.time() < stop:
            started = time.perf_counter()
            r = session.get(f"{base}/api/search", params={"q": "zebra"})
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            time.sleep(0.2)

    threads = [threading.Thread(target=attacker, args=(u,)) for u in users[1:6]]
    threads.append(threading.Thread(target=bystander, args=(users[0],)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1)

    print(json.dumps({
        "queries": queries, "searches": len(latencies), "statuses": statuses,
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": pct(100),
        "attackers": answers,
    }))


main()
