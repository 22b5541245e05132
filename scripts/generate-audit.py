#!/usr/bin/env python3
"""Appends N records to the audit chain of a pathwayd database, built independently of the daemon
from the v2 format in docs/audit.md (so a daemon `verify` of the result also checks that format).

usage: generate-audit.py DATABASE RECORDS PATIENTS [--template-from-last]

Each record copies the input and (compressed) output of the last `event` record already in the
database (realistic sizes) or, without --template-from-last, uses small synthetic ones.
"""
import hashlib, sqlite3, subprocess, sys, uuid

def field(f):
    f = f if isinstance(f, bytes) else str(f).encode()
    return str(len(f)).encode() + b":" + f + b"\n"

def canonical(r):
    seq, did, at, uid, user, roles, action, pid, rev, version, dictionary, inp, outz, prev = r
    return b"pathwayd-audit-v2\n" + b"".join(map(field, [
        seq, did, at, uid, user, roles, action, pid or "", rev or "", version, dictionary or "", inp, outz, prev]))

def main():
    path, count, patients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    seq, prev, revision = db.execute("SELECT seq, hash, revision FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    version, dictionary = "generated", None
    if "--template-from-last" in sys.argv:
        input_text, output_z, version, dictionary = db.execute(
            "SELECT input, output_zstd, version, output_dictionary FROM audit WHERE action = 'event' "
            "AND format IS NOT NULL ORDER BY seq DESC LIMIT 1").fetchone()
    else:
        input_text = ('{"evaluatedAt":"2026-03-01T10:00:00Z","eventId":"e","events":[{"data":{"scale":"ecog",'
                      '"value":1},"id":"e","occurredAt":"2026-03-01T10:00:00Z","patientId":"P",'
                      '"type":"performance-status"}],"history":{"count":6,"digest":"sha256:' + "0" * 64 +
                      '","patientId":"P"},"parameters":{}}')
        output_z = subprocess.run(
            ["zstd", "-c", "-q"], check=True, capture_output=True,
            input=b'{"response":{"changes":[{"from":"needs-data","id":"nivolumab-ipilimumab",'
                  b'"to":"recommended"}],"decisionId":"d","eventId":"e","status":"accepted"}}').stdout
    at = 1_772_000_000_000
    batch = []
    insert = ("INSERT INTO audit (seq, decision_id, at, actor_uid, actor_user, actor_roles, action, patient_id, "
              "revision, version, output_dictionary, input, output_zstd, prev_hash, hash, output, format) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'','pathwayd-audit-v2')")
    for i in range(count):
        seq += 1
        row = (seq, str(uuid.UUID(int=(seq << 64) | 0xA0D17)), at + seq, 1000, "ehr-bridge", "ehr", "event",
               "GEN-%07d" % (i % patients), revision, version, dictionary, input_text, output_z, prev)
        prev = hashlib.sha256(canonical(row)).hexdigest()
        batch.append(row + (prev,))
        if len(batch) == 20_000:
            db.executemany(insert, batch)
            db.commit()
            batch = []
    if batch:
        db.executemany(insert, batch)
        db.commit()
    print(f"{count} records appended; head {seq}:{prev}")

main()
