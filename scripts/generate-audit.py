#!/usr/bin/env python3
"""Appends N records to the audit chain of a pathwayd database, built independently of the daemon
from the format in docs/audit.md (so a daemon `verify` of the result also checks that format).

usage: generate-audit.py DATABASE RECORDS PATIENTS [--template-from-last]

Each record copies the input and output of the last `event` record already in the database
(realistic sizes) or, without --template-from-last, uses small synthetic ones (~1 KB).
"""
import hashlib, sqlite3, sys, uuid

def canonical(r):
    fields = [str(r[0]), r[1], str(r[2]), str(r[3]), r[4], r[5], r[6], r[7] or "", r[8] or "", r[9], r[10], r[11]]
    return b"pathwayd-audit-v1\n" + b"".join(str(len(f.encode())).encode() + b":" + f.encode() + b"\n" for f in fields)

def main():
    path, count, patients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    seq, prev, revision = db.execute("SELECT seq, hash, revision FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    if "--template-from-last" in sys.argv:
        input_text, output_text = db.execute(
            "SELECT input, output FROM audit WHERE action = 'event' ORDER BY seq DESC LIMIT 1").fetchone()
    else:
        input_text = '{"evaluatedAt":"2026-03-01T10:00:00Z","eventId":"e","events":[' + ",".join(
            ['{"data":{"scale":"ecog","value":1},"id":"e%d","occurredAt":"2026-03-01T10:00:00Z","patientId":"P","type":"performance-status"}' % i for i in range(4)]) + '],"parameters":{}}'
        output_text = '{"response":{"changes":[{"from":"needs-data","id":"nivolumab-ipilimumab","to":"recommended"}],"decisionId":"d","eventId":"e","status":"accepted"}}'
    at = 1_772_000_000_000
    batch = []
    for i in range(count):
        seq += 1
        row = (seq, str(uuid.UUID(int=(seq << 64) | 0xA0D17)), at + seq, 1000, "ehr-bridge", "ehr", "event",
               "GEN-%07d" % (i % patients), revision, input_text, output_text, prev)
        prev = hashlib.sha256(canonical(row)).hexdigest()
        batch.append(row + (prev,))
        if len(batch) == 20_000:
            db.executemany("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
            db.commit()
            batch = []
    if batch:
        db.executemany("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        db.commit()
    print(f"{count} records appended; head {seq}:{prev}")

main()
