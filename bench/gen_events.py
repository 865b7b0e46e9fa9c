#!/usr/bin/env python3
"""gen_events.py — deterministic seed-like game events as JSON lines, for
bench/load.sh and tests: what the collector writes for the seed's ab runs
(default / purchase_sword / join_guild with Host, User-Agent, Accept,
typed params), with UUIDv7-shaped ids and increasing RFC 3339 timestamps.

    gen_events.py N [--seed S] [--start 2026-11-21T00:00:00Z] [--step-us 1000] > events.jsonl
"""
import argparse
import datetime
import json
import random
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=205)
    ap.add_argument("--start", default="2026-11-21T00:00:00Z")
    ap.add_argument("--step-us", type=int, default=1000)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    t0 = datetime.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    base_us = int(t0.timestamp()) * 1000000
    hosts = ["user1.comcast.com", "user2.att.com", "user3.verizon.net", "user4.tmobile.com", "localhost:5000"]
    agents = ["ApacheBench/2.3", "questlog-simulate/0.1", "Mozilla/5.0 (X11; Linux x86_64)"]
    swords = ["katana", "longsword", "rapier", "scimitar", "claymore"]
    guilds = ["knights", "rangers", "mages", "rogues"]
    out = sys.stdout
    buf = []
    for i in range(a.n):
        us = base_us + i * a.step_us + rnd.randrange(a.step_us)
        ms = us // 1000
        r = rnd.random()
        ev = {}
        if r < 0.5:
            ev["event_type"] = "purchase_sword"
        elif r < 0.8:
            ev["event_type"] = "join_guild"
        else:
            ev["event_type"] = "default"
        ev["event_id"] = "%08x-%04x-7%03x-%04x-%012x" % (ms >> 16, ms & 0xFFFF, rnd.getrandbits(12),
                                                         0x8000 | rnd.getrandbits(14), rnd.getrandbits(48))
        sec, frac = divmod(us, 1000000)
        ev["timestamp"] = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S") + ".%06dZ" % frac
        ev["Host"] = rnd.choice(hosts)
        ev["User-Agent"] = rnd.choice(agents)
        ev["Accept"] = "*/*"
        if ev["event_type"] == "purchase_sword":
            ev["sword_type"] = rnd.choice(swords)
            ev["price"] = rnd.randrange(10, 500)
        elif ev["event_type"] == "join_guild":
            ev["guild_id"] = rnd.choice(guilds)
        buf.append(json.dumps(ev, separators=(",", ":")))
        if len(buf) >= 10000:
            out.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        out.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
