#!/usr/bin/env python3
"""Books N distinct holders at one provider over one pipelined connection (loopback only),
for measuring memory per booking and recovery time. Usage: fill.py PORT PROVIDER N"""
import socket
import sys

port, provider, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sock = socket.create_connection(("127.0.0.1", port))
chunk = 10_000
booked = 0
pending = b""
for start in range(0, count, chunk):
    end = min(count, start + chunk)
    sock.sendall(b"".join(b"BOOK %s h:%d\n" % (provider.encode(), i) for i in range(start, end)))
    lines = 0
    while lines < end - start:
        data = sock.recv(1 << 20)
        if not data:
            sys.exit("connection closed")
        pending += data
        *complete, pending = pending.split(b"\r\n")
        lines += len(complete)
        booked += sum(1 for line in complete if line.startswith(b"+BOOKED"))
print(f"booked {booked} of {count}")
